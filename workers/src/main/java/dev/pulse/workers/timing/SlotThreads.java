package dev.pulse.workers.timing;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The threads a {@link ClaimLoop} runs its items on: up to {@code size}, started as needed, taking
 * items from one queue, at most one of them on its way to the queue at a time.
 *
 * <p>Why not a fixed thread pool: its queue wakes a parked thread for almost every item handed over
 * (a thread that takes an item wakes another whenever more remain), so a claim of forty items that
 * each end within microseconds woke about forty threads, and a thread switch costs more than such
 * an item (docs/benchmarks.md: a quarter of the node's CPU in a burn-down). Here a thread is woken
 * only when no other is already on its way to the queue; a woken thread, once it has taken an item,
 * wakes the next if items remain. Items that take long still start one wake-up after another, each
 * thread passing the turn on as it takes its item; short ones are mostly taken by threads already
 * awake, which look at the queue again before they park.
 */
final class SlotThreads {

    private static final Logger log = LoggerFactory.getLogger(SlotThreads.class);

    /**
     * How long a parked thread waits before it looks at the queue anyway. Nothing should need it:
     * it bounds the delay should the wake-up bookkeeping ever be wrong.
     */
    static final Duration LOOK_ANYWAY_AFTER = Duration.ofSeconds(1);

    private final int size;
    private final String name;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition work = lock.newCondition();
    private final Condition ended = lock.newCondition();
    private final ArrayDeque<Runnable> queue = new ArrayDeque<>();
    private final List<Thread> threads = new ArrayList<>();
    private int parked;
    private int onTheirWay; // woken or started for the queue, and not there yet
    private int alive;
    private boolean shutdown;

    SlotThreads(int size, String name) {
        this.size = size;
        this.name = name;
    }

    /** Runs {@code item} on one of the threads, as soon as one is free. */
    void execute(Runnable item) {
        lock.lock();
        try {
            if (shutdown) {
                throw new RejectedExecutionException(name + " threads are shut down");
            }
            queue.add(item);
            sendOneIfNoneOnItsWay();
        } finally {
            lock.unlock();
        }
    }

    /** Under the lock. */
    private void sendOneIfNoneOnItsWay() {
        if (onTheirWay > 0) {
            return;
        }
        if (parked > 0) {
            onTheirWay++;
            work.signal();
        } else if (alive < size) {
            onTheirWay++;
            alive++;
            Thread thread = new Thread(this::work, name);
            threads.add(thread);
            thread.start();
        }
    }

    private void work() {
        lock.lock();
        try {
            arrived();
            while (true) {
                Runnable item = queue.poll();
                if (item == null) {
                    if (shutdown) {
                        return;
                    }
                    park();
                    continue;
                }
                if (!queue.isEmpty()) {
                    sendOneIfNoneOnItsWay();
                }
                lock.unlock();
                try {
                    item.run();
                } catch (RuntimeException | Error e) {
                    log.warn("an item on a {} thread failed", name, e);
                } finally {
                    // an interrupt meant for this item (shutdownNow) is not the next one's
                    Thread.interrupted();
                    lock.lock();
                }
            }
        } finally {
            alive--;
            threads.remove(Thread.currentThread());
            ended.signalAll();
            lock.unlock();
        }
    }

    /** Under the lock. */
    private void park() {
        parked++;
        try {
            work.await(LOOK_ANYWAY_AFTER.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            // shutdownNow: look at the queue, and end when it is empty
        } finally {
            parked--;
            arrived();
        }
    }

    /** Under the lock: this thread is at the queue. */
    private void arrived() {
        if (onTheirWay > 0) {
            onTheirWay--;
        }
    }

    /** No new items; the threads end once the queue is empty. */
    void shutdown() {
        lock.lock();
        try {
            shutdown = true;
            work.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Shuts down and interrupts the items running. */
    void shutdownNow() {
        lock.lock();
        try {
            shutdown = true;
            threads.forEach(Thread::interrupt);
        } finally {
            lock.unlock();
        }
    }

    /** Waits up to {@code millis} for every thread to end; returns whether they did. */
    boolean awaitTermination(long millis) throws InterruptedException {
        lock.lock();
        try {
            long nanos = TimeUnit.MILLISECONDS.toNanos(millis);
            while (alive > 0) {
                if (nanos <= 0) {
                    return false;
                }
                nanos = ended.awaitNanos(nanos);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }
}
