package dev.pulse.workers.timing;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

/**
 * Gathering work into batches: queued items for the threads that record in bulk, free slots for the
 * claim loops.
 */
public final class Batches {

    private Batches() {}

    /** While lingering, how often {@link #gather} looks for more items. */
    static final Duration LOOK_AGAIN_AFTER = Duration.ofMillis(1);

    /**
     * Moves into {@code batch} the first item to arrive within {@code idle}, then whatever else
     * arrives within {@code linger} of it (looking every {@link #LOOK_AGAIN_AFTER}), up to {@code
     * max} items in all; stops lingering as soon as {@code stopLingering} says so (the caller is
     * closing).
     *
     * @return whether an item arrived
     */
    public static <T> boolean gather(
            BlockingQueue<T> queue,
            List<T> batch,
            int max,
            Duration idle,
            Duration linger,
            BooleanSupplier stopLingering)
            throws InterruptedException {
        T first = queue.poll(idle.toNanos(), TimeUnit.NANOSECONDS);
        if (first == null) {
            return false;
        }
        batch.add(first);
        long deadline = System.nanoTime() + linger.toNanos();
        while (true) {
            queue.drainTo(batch, max - batch.size());
            long left = deadline - System.nanoTime();
            if (batch.size() >= max || left <= 0 || stopLingering.getAsBoolean()) {
                break;
            }
            // A nap, not a wait on the queue: a thread waiting on it is woken by every item put,
            // a thread switch per item while the batch fills.
            TimeUnit.NANOSECONDS.sleep(Math.min(left, LOOK_AGAIN_AFTER.toNanos()));
        }
        return true;
    }

    /**
     * For a claim loop under a backlog: waits (woken by {@code wakeUp}) until {@code free} slots
     * number at least {@code wanted}, for at most {@code atMost}, so that one claim takes many rows
     * rather than one claim per slot as each frees up; returns how many slots are free then.
     */
    public static int awaitFree(IntSupplier free, int wanted, Duration atMost, WakeUp wakeUp)
            throws InterruptedException {
        int now = free.getAsInt();
        long until = System.nanoTime() + atMost.toNanos();
        long left;
        while (now < wanted && (left = until - System.nanoTime()) > 0) {
            wakeUp.await(Duration.ofNanos(left));
            now = free.getAsInt();
        }
        return now;
    }
}
