package dev.pulse.workers.timing;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Gathering queued items into batches, for the threads that record work in bulk. */
public final class Batches {

    private Batches() {
    }

    /**
     * Moves into {@code batch} the first item to arrive within {@code idle}, then whatever else
     * arrives within {@code linger} of it, up to {@code max} items in all; stops lingering as soon as
     * {@code stopLingering} says so (the caller is closing).
     *
     * @return whether an item arrived
     */
    public static <T> boolean gather(BlockingQueue<T> queue, List<T> batch, int max, Duration idle, Duration linger,
                                     BooleanSupplier stopLingering) throws InterruptedException {
        T first = queue.poll(idle.toNanos(), TimeUnit.NANOSECONDS);
        if (first == null) {
            return false;
        }
        batch.add(first);
        long deadline = System.nanoTime() + linger.toNanos();
        while (batch.size() < max) {
            queue.drainTo(batch, max - batch.size());
            long left = deadline - System.nanoTime();
            if (batch.size() >= max || left <= 0 || stopLingering.getAsBoolean()) {
                break;
            }
            T next = queue.poll(left, TimeUnit.NANOSECONDS);
            if (next == null) {
                break;
            }
            batch.add(next);
        }
        return true;
    }
}
