package dev.pulse.workers.timing;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * The claim loop the task worker and the callback dispatcher share, on items of its own: how much
 * it claims, what wakes it, how it stops. (The tasks' and deliveries' tests run it on PostgreSQL.)
 */
class ClaimLoopTest {

    /** Longer than any of these tests may take: a loop that moves on was woken, not timed out. */
    private static final Duration LONG = Duration.ofHours(1);

    private static final Duration DEADLINE = Duration.ofMinutes(2);

    private final WakeUp wakeUp = new WakeUp();
    private final List<Integer> limits = new CopyOnWriteArrayList<>();
    private final AtomicInteger next = new AtomicInteger();

    /** A source with as many items as are asked for, remembering each limit it was given. */
    private int claimAll(int limit, ClaimLoop.Slots<Integer> slots) {
        limits.add(limit);
        for (int i = 0; i < limit; i++) {
            slots.run(next.incrementAndGet());
        }
        return limit;
    }

    private static ClaimLoop.Settings settings(int concurrency, Duration pollInterval) {
        return new ClaimLoop.Settings(
                "test loop", "items", concurrency, pollInterval, "test-claim", "test-slot");
    }

    @Test
    void claimsNoMoreThanItsFreeSlotsAndTheRoomToRecord() throws Exception {
        AtomicInteger room = new AtomicInteger(2);
        AtomicInteger running = new AtomicInteger();
        AtomicInteger mostRunning = new AtomicInteger();
        CountDownLatch finish = new CountDownLatch(1);
        ClaimLoop<Integer> loop =
                new ClaimLoop<>(
                        (limit, slots) -> {
                            room.addAndGet(
                                    -limit); // as the outcomes of items claimed would fill the room
                            // to record
                            return claimAll(limit, slots);
                        },
                        item -> {
                            mostRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
                            await(finish);
                            running.decrementAndGet();
                        },
                        room::get,
                        wakeUp,
                        settings(4, LONG));
        loop.start();
        waitFor(() -> running.get() == 2);

        assertThat(limits)
                .containsExactly(2); // two slots stay free, but there is no room to record
        room.set(100);
        wakeUp.signal();
        waitFor(() -> running.get() == 4);
        room.set(1_000_000);
        finish.countDown();
        waitFor(() -> next.get() >= 20); // keeps claiming as slots free up
        loop.close(DEADLINE, () -> {}, DEADLINE);

        assertThat(limits).allMatch(limit -> limit >= 1 && limit <= 4);
        assertThat(mostRunning.get()).isEqualTo(4);
    }

    @Test
    void aSlotFreeingUpWakesTheLoopBeforeItsPollInterval() throws Exception {
        CountDownLatch ran = new CountDownLatch(10);
        ClaimLoop<Integer> loop =
                new ClaimLoop<>(
                        this::claimAll,
                        item -> ran.countDown(),
                        () -> Integer.MAX_VALUE,
                        wakeUp,
                        settings(1, LONG));
        loop.start();

        assertThat(ran.await(DEADLINE.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
        loop.close(DEADLINE, () -> {}, DEADLINE);
    }

    @Test
    void aClaimThatFailsIsTriedAgainAfterThePollInterval() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        CountDownLatch ran = new CountDownLatch(1);
        ClaimLoop<Integer> loop =
                new ClaimLoop<>(
                        (limit, slots) -> {
                            if (calls.incrementAndGet() == 1) {
                                throw new IllegalStateException("the database is unreachable");
                            }
                            return claimAll(1, slots);
                        },
                        item -> ran.countDown(),
                        () -> Integer.MAX_VALUE,
                        wakeUp,
                        settings(1, Duration.ofMillis(10)));
        loop.start();

        assertThat(ran.await(DEADLINE.toMillis(), TimeUnit.MILLISECONDS)).isTrue();
        loop.close(DEADLINE, () -> {}, DEADLINE);
        assertThat(calls.get()).isGreaterThanOrEqualTo(2);
    }

    @Test
    void itemsStillRunningAfterTheGraceAreHandedBackAndAwaited() throws Exception {
        CountDownLatch started = new CountDownLatch(2);
        CountDownLatch handedBack = new CountDownLatch(1);
        AtomicInteger ended = new AtomicInteger();
        ClaimLoop<Integer> loop =
                new ClaimLoop<>(
                        (limit, slots) -> next.get() >= 2 ? 0 : claimAll(limit, slots),
                        item -> {
                            started.countDown();
                            await(handedBack); // runs until asked to hand its item back
                            ended.incrementAndGet();
                        },
                        () -> Integer.MAX_VALUE,
                        wakeUp,
                        settings(2, LONG));
        loop.start();
        assertThat(started.await(DEADLINE.toMillis(), TimeUnit.MILLISECONDS)).isTrue();

        loop.close(Duration.ofMillis(1), handedBack::countDown, DEADLINE);

        assertThat(handedBack.getCount()).isZero();
        assertThat(ended.get())
                .as("close returns once the items handed back have ended")
                .isEqualTo(2);
    }

    @Test
    void nothingIsHandedBackWhenNothingRuns() throws Exception {
        AtomicInteger handBacks = new AtomicInteger();
        ClaimLoop<Integer> loop =
                new ClaimLoop<>(
                        (limit, slots) -> 0,
                        item -> {},
                        () -> Integer.MAX_VALUE,
                        wakeUp,
                        settings(2, LONG));
        loop.start();

        loop.close(LONG, handBacks::incrementAndGet, LONG);

        assertThat(handBacks.get()).isZero();
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void waitFor(BooleanSupplier condition) throws InterruptedException {
        long until = System.nanoTime() + DEADLINE.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition within %s", DEADLINE).isLessThan(until);
            Thread.sleep(1);
        }
    }
}
