package dev.pulse.workers.callbacks;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/** Per-destination limits hold while senders use a destination, and are gone once none does. */
class DestinationLimitsTest {

    private static final long DEADLINE_NANOS = TimeUnit.SECONDS.toNanos(30);

    @Test
    void atMostTheLimitRunsForOneDestinationWhileAnotherDestinationIsNotHeldUp() throws Exception {
        DestinationLimits limits = new DestinationLimits(2);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        List<Thread> senders = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            senders.add(
                    start(
                            () ->
                                    limits.run(
                                            "https://a:443",
                                            () -> {
                                                most.accumulateAndGet(
                                                        inside.incrementAndGet(), Math::max);
                                                await(release);
                                                inside.decrementAndGet();
                                            })));
        }
        waitUntil(
                () ->
                        inside.get() == 2
                                && senders.stream()
                                                .filter(t -> t.getState() == Thread.State.WAITING)
                                                .count()
                                        == 3);
        // two inside waiting for the latch, the third waiting for a permit

        CountDownLatch otherRan = new CountDownLatch(1);
        Thread other = start(() -> limits.run("https://b:443", otherRan::countDown));
        assertThat(otherRan.await(30, TimeUnit.SECONDS))
                .as("another destination is not held up")
                .isTrue();
        other.join();
        assertThat(limits.tracked())
                .as("b's entry went with its last sender; a's stays while used")
                .isEqualTo(1);

        release.countDown();
        for (Thread t : senders) {
            t.join(TimeUnit.NANOSECONDS.toMillis(DEADLINE_NANOS));
        }
        assertThat(most.get()).isEqualTo(2);
        assertThat(limits.tracked()).as("idle destinations are evicted").isZero();
    }

    @Test
    void manyDestinationsUsedOnceLeaveNothingBehind() throws Exception {
        DestinationLimits limits = new DestinationLimits(1);
        AtomicInteger ran = new AtomicInteger();
        for (int i = 0; i < 20_000; i++) {
            limits.run("https://host-" + i + ":443", ran::incrementAndGet);
        }
        assertThat(ran.get()).isEqualTo(20_000);
        assertThat(limits.tracked()).isZero();
    }

    @Test
    void aSenderInterruptedWhileWaitingLeavesNoEntryBehind() throws Exception {
        DestinationLimits limits = new DestinationLimits(1);
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch holding = new CountDownLatch(1);
        Thread holder =
                start(
                        () ->
                                limits.run(
                                        "https://a:443",
                                        () -> {
                                            holding.countDown();
                                            await(release);
                                        }));
        assertThat(holding.await(30, TimeUnit.SECONDS)).isTrue();
        Thread waiter = start(() -> limits.run("https://a:443", () -> {}));
        waitUntil(() -> waiter.getState() == Thread.State.WAITING);
        waiter.interrupt();
        waiter.join();
        release.countDown();
        holder.join();
        assertThat(limits.tracked()).isZero();
    }

    private interface Sending {
        void run() throws InterruptedException;
    }

    private static Thread start(Sending sending) {
        Thread t =
                new Thread(
                        () -> {
                            try {
                                sending.run();
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        });
        t.start();
        return t;
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void waitUntil(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + DEADLINE_NANOS;
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition never held").isLessThan(deadline);
            Thread.sleep(5);
        }
    }
}
