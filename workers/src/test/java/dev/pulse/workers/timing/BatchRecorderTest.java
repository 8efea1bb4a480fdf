package dev.pulse.workers.timing;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The batch recorder the task completer and the callback dispatcher share, with a flush of its own.
 * (BatchCompletionTest and CallbackDispatcherTest run it against PostgreSQL.)
 */
class BatchRecorderTest {

    private static final Duration DEADLINE = Duration.ofMinutes(2);

    private final List<List<Integer>> flushed = new CopyOnWriteArrayList<>();
    private final List<Boolean> closingFlags = new CopyOnWriteArrayList<>();

    private void remember(List<Integer> batch, long deadline, boolean closing) {
        flushed.add(List.copyOf(batch));
        closingFlags.add(closing);
    }

    private List<Integer> all() {
        return flushed.stream().flatMap(List::stream).toList();
    }

    @Test
    void closeWritesEverythingQueuedInBatchesOfAtMostMaxBatch() throws Exception {
        BatchRecorder<Integer> recorder =
                new BatchRecorder<>(
                        new BatchRecorder.Settings(
                                "test-recorder", 100, 10, Duration.ofMillis(50), DEADLINE),
                        this::remember);
        // Never started: nothing is written until close.
        for (int i = 0; i < 95; i++) {
            recorder.submit(i);
        }
        assertThat(recorder.pending()).isEqualTo(95);
        assertThat(recorder.room()).isEqualTo(5);

        recorder.close();

        assertThat(recorder.pending()).isZero();
        assertThat(all()).containsExactlyElementsOf(IntStream.range(0, 95).boxed().toList());
        assertThat(flushed).allMatch(batch -> !batch.isEmpty() && batch.size() <= 10);
        assertThat(closingFlags).containsOnly(true);
    }

    @Test
    void aFullQueueBlocksTheProducerUntilAWriteMakesRoom() throws Exception {
        CountDownLatch writesMayEnd = new CountDownLatch(1);
        BatchRecorder<Integer> recorder =
                new BatchRecorder<>(
                        new BatchRecorder.Settings("test-recorder", 2, 2, Duration.ZERO, DEADLINE),
                        (batch, deadline, closing) -> {
                            writesMayEnd.await();
                            remember(batch, deadline, closing);
                        });
        recorder.start();
        List<Throwable> failures = new ArrayList<>();
        Thread producer =
                new Thread(
                        () -> {
                            try {
                                for (int i = 0; i < 10; i++) {
                                    recorder.submit(i);
                                }
                            } catch (Throwable e) {
                                failures.add(e);
                            }
                        });
        producer.start();
        long until = System.nanoTime() + DEADLINE.toNanos();
        // The producer also parks for a moment on the queue's own lock while the writer takes a
        // batch; what is awaited is the queue full and the producer parked on it.
        while (producer.getState() != Thread.State.WAITING || recorder.room() != 0) {
            assertThat(System.nanoTime()).as("the producer waits for room").isLessThan(until);
            Thread.sleep(1);
        }
        assertThat(recorder.room()).isZero();
        assertThat(producer.isAlive()).as("the producer is still blocked").isTrue();

        writesMayEnd.countDown();
        producer.join(DEADLINE.toMillis());
        recorder.close();

        assertThat(failures).isEmpty();
        assertThat(all()).containsExactlyElementsOf(IntStream.range(0, 10).boxed().toList());
    }

    @Test
    void anItemSubmittedAfterCloseIsWrittenByItsProducer() throws Exception {
        BatchRecorder<Integer> recorder =
                new BatchRecorder<>(
                        new BatchRecorder.Settings(
                                "test-recorder",
                                BatchRecorder.UNBOUNDED,
                                10,
                                Duration.ZERO,
                                DEADLINE),
                        this::remember);
        recorder.start();
        recorder.close();

        recorder.submit(7);

        assertThat(all()).containsExactly(7);
        assertThat(recorder.pending()).isZero();
    }
}
