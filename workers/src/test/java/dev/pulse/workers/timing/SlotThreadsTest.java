package dev.pulse.workers.timing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The claim loop's slot threads: every item runs, items that block still all start (the turn to
 * take from the queue is passed on, never lost), and they stop as a pool does.
 */
class SlotThreadsTest {

    /** Far longer than any of these steps may take on a busy machine. */
    private static final long DEADLINE_SECONDS = 120;

    private final SlotThreads threads = new SlotThreads(8, "test-slot");

    @Test
    void itemsThatBlockAllStartOnThreadsOfTheirOwnUpToTheSize() throws Exception {
        CountDownLatch started = new CountDownLatch(8);
        CountDownLatch release = new CountDownLatch(1);
        Set<Thread> ranOn = ConcurrentHashMap.newKeySet();
        // Handed over in one burst, as a claim hands over its rows: only one thread is sent for
        // them, and each that takes one sends the next.
        for (int i = 0; i < 8; i++) {
            threads.execute(
                    () -> {
                        ranOn.add(Thread.currentThread());
                        started.countDown();
                        await(release);
                    });
        }

        assertThat(started.await(DEADLINE_SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThat(ranOn).hasSize(8);
        release.countDown();
        threads.shutdown();
        assertThat(threads.awaitTermination(TimeUnit.SECONDS.toMillis(DEADLINE_SECONDS))).isTrue();
    }

    @Test
    void everyItemOfManyBurstsRunsOnce() throws Exception {
        int bursts = 200;
        int perBurst = 50;
        AtomicInteger ran = new AtomicInteger();
        CountDownLatch all = new CountDownLatch(bursts * perBurst);
        for (int b = 0; b < bursts; b++) {
            for (int i = 0; i < perBurst; i++) {
                threads.execute(
                        () -> {
                            ran.incrementAndGet();
                            all.countDown();
                        });
            }
            if (b % 10 == 0) {
                Thread.sleep(1); // let the threads park now and then, to be woken again
            }
        }

        assertThat(all.await(DEADLINE_SECONDS, TimeUnit.SECONDS)).isTrue();
        threads.shutdown();
        assertThat(threads.awaitTermination(TimeUnit.SECONDS.toMillis(DEADLINE_SECONDS))).isTrue();
        assertThat(ran).hasValue(bursts * perBurst);
    }

    @Test
    void anItemThatThrowsLeavesItsThreadToTheNext() throws Exception {
        SlotThreads one = new SlotThreads(1, "test-slot");
        CountDownLatch next = new CountDownLatch(1);
        one.execute(
                () -> {
                    throw new IllegalStateException("an agent's bug");
                });
        one.execute(next::countDown);

        assertThat(next.await(DEADLINE_SECONDS, TimeUnit.SECONDS)).isTrue();
        one.shutdown();
        assertThat(one.awaitTermination(TimeUnit.SECONDS.toMillis(DEADLINE_SECONDS))).isTrue();
    }

    @Test
    void shutdownLetsRunningItemsFinishAndShutdownNowInterruptsThem() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch interrupted = new CountDownLatch(1);
        threads.execute(
                () -> {
                    started.countDown();
                    try {
                        Thread.sleep(TimeUnit.HOURS.toMillis(1));
                    } catch (InterruptedException e) {
                        interrupted.countDown();
                    }
                });
        assertThat(started.await(DEADLINE_SECONDS, TimeUnit.SECONDS)).isTrue();

        threads.shutdown();
        assertThatThrownBy(() -> threads.execute(() -> {}))
                .isInstanceOf(RejectedExecutionException.class);
        assertThat(threads.awaitTermination(50)).isFalse(); // still running its item
        threads.shutdownNow();

        assertThat(interrupted.await(DEADLINE_SECONDS, TimeUnit.SECONDS)).isTrue();
        assertThat(threads.awaitTermination(TimeUnit.SECONDS.toMillis(DEADLINE_SECONDS))).isTrue();
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await(DEADLINE_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
