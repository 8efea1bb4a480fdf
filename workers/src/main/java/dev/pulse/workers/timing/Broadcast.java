package dev.pulse.workers.timing;

import java.time.Duration;

/**
 * A nudge for any number of waiters at once (unlike {@link WakeUp}, which wakes one loop): each
 * {@link #signal} starts a new generation, and a waiter that read the generation before looking for
 * work returns as soon as it changes, so a signal given between its look and its wait is not lost.
 */
public final class Broadcast {

    private long generation;

    public synchronized void signal() {
        generation++;
        notifyAll();
    }

    public synchronized long generation() {
        return generation;
    }

    /**
     * Waits up to {@code timeout} for a generation after {@code seen}; returns whether one came.
     */
    public synchronized boolean awaitAfter(long seen, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (generation == seen) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            wait(Math.max(1, left / 1_000_000));
        }
        return true;
    }
}
