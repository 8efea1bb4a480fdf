package dev.pulse.workers.timing;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Gathering queued items into batches, as the completer and the callback recorder do. */
class BatchesTest {

    /**
     * Longer than any of these tests may take: a gather that returns reached its batch, not its
     * linger.
     */
    private static final Duration LONG = Duration.ofMinutes(5);

    private final BlockingQueue<Integer> queue = new ArrayBlockingQueue<>(100);
    private final List<Integer> batch = new ArrayList<>();

    @Test
    void nothingArrivingWithinTheIdleTimeGathersNothing() throws Exception {
        assertThat(Batches.gather(queue, batch, 10, Duration.ofMillis(20), LONG, () -> false))
                .isFalse();
        assertThat(batch).isEmpty();
    }

    @Test
    void itemsArrivingWhileItLingersJoinTheBatchUntilItIsFull() throws Exception {
        queue.put(1);
        CompletableFuture<Void> later =
                CompletableFuture.runAsync(
                        () -> {
                            for (int i = 2; i <= 4; i++) {
                                sleep(5);
                                queue.add(i);
                            }
                        });

        // Returns once the batch is full, long before its linger.
        assertThat(Batches.gather(queue, batch, 3, LONG, LONG, () -> false)).isTrue();

        assertThat(batch).containsExactly(1, 2, 3);
        later.get(1, TimeUnit.MINUTES);
        assertThat(queue).containsExactly(4);
    }

    @Test
    void itStopsLingeringWhenTold() throws Exception {
        queue.put(1);

        assertThat(Batches.gather(queue, batch, 10, LONG, LONG, () -> true)).isTrue();

        assertThat(batch).containsExactly(1);
    }

    @Test
    void afterTheLingerItReturnsWhatArrived() throws Exception {
        queue.put(1);
        queue.put(2);

        assertThat(Batches.gather(queue, batch, 10, LONG, Duration.ofMillis(20), () -> false))
                .isTrue();

        assertThat(batch).containsExactly(1, 2);
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
