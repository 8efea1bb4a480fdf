package dev.pulse.workers.timing;

import java.time.Duration;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A nudge for a polling loop: {@link #await} returns early when someone {@link #signal}s that there
 * may be work (a task was queued on this node, a slot freed up). A signal given while no one waits
 * is remembered, so it is never lost between a poll and the wait that follows it.
 */
public final class WakeUp {

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition signalled = lock.newCondition();
    private boolean pending;
    private final Runnable alsoOnSignal;

    public WakeUp() {
        this(null);
    }

    /**
     * A wake-up that also runs {@code alsoOnSignal} on every signal, e.g. to pass a "tasks were
     * queued" signal on to this node's worker and, through NOTIFY, to the other nodes.
     */
    public WakeUp(Runnable alsoOnSignal) {
        this.alsoOnSignal = alsoOnSignal;
    }

    public void signal() {
        if (alsoOnSignal != null) {
            alsoOnSignal.run();
        }
        lock.lock();
        try {
            pending = true;
            signalled.signal();
        } finally {
            lock.unlock();
        }
    }

    /** Waits up to {@code timeout} for a signal; returns whether one came. */
    public boolean await(Duration timeout) throws InterruptedException {
        lock.lock();
        try {
            long nanos = timeout.toNanos();
            while (!pending && nanos > 0) {
                nanos = signalled.awaitNanos(nanos);
            }
            boolean woke = pending;
            pending = false;
            return woke;
        } finally {
            lock.unlock();
        }
    }
}
