package dev.pulse.workers.timing;

import dev.pulse.workers.maintenance.Duty;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The claim loop of the task worker and of the callback dispatcher: it claims no more items than it
 * has free slots (and {@code room} to record their outcomes), runs each on a slot, and claims again
 * when a slot frees up, when woken, or after the poll interval. A slot is free again as soon as its
 * item's runner returns.
 *
 * <p>What is claimed, and from where, is the {@link Source}'s business (the worker claims tasks;
 * the dispatcher takes deliveries from memory and claims the others); what a slot does with an item
 * is the {@link Runner}'s. How the owner stops (the grace it gives running items, how it hands the
 * rest back) is passed to {@link #close}.
 */
public final class ClaimLoop<T> {

    private static final Logger log = LoggerFactory.getLogger(ClaimLoop.class);

    /**
     * Under a backlog, how long the loop may wait for more free slots so that one claim moves more
     * rows.
     */
    public static final Duration GATHER_SLOTS_FOR_AT_MOST = Duration.ofMillis(5);

    /** Where the loop's items come from. */
    public interface Source<T> {
        /**
         * Takes up to {@code limit} items and hands each to {@code slots} as soon as it is taken
         * (before taking more, so that a later claim that fails loses nothing already taken);
         * returns how many were handed over.
         */
        int claim(int limit, Slots<T> slots) throws InterruptedException;
    }

    /** Free slots, for the {@link Source} to hand its items to. */
    public interface Slots<T> {
        /**
         * Runs {@code item} on a free slot; never waits, as a claim takes no more items than there
         * are free slots.
         */
        void run(T item);
    }

    /** What a slot does with one item; a slot is free again when it returns. */
    public interface Runner<T> {
        void run(T item);
    }

    /**
     * @param duty what the loop is called in the log, e.g. "worker"
     * @param items what it claims, in the log, e.g. "tasks"
     * @param loopThread the name of the claiming thread
     * @param slotThread the name of the slots' threads
     */
    public record Settings(
            String duty,
            String items,
            int concurrency,
            Duration pollInterval,
            String loopThread,
            String slotThread) {}

    private final Source<T> source;
    private final Runner<T> runner;
    private final IntSupplier room;
    private final WakeUp wakeUp;
    private final Settings settings;
    private final Semaphore slots;
    private final SlotThreads pool;
    // How many free slots are worth waking the loop for: while it gathers slots for a claim of
    // many rows, only as many as it gathers (a wake-up per freed slot cost more than the slot's
    // item, docs/benchmarks.md); otherwise any one.
    private volatile int wakeAtFree = 1;
    private final Slots<T> handOff = this::handOff;
    private final Thread loop;
    private volatile boolean claiming = true;
    private volatile boolean failing; // written by the loop only
    private final AtomicLong claims = new AtomicLong();
    private final AtomicLong failedClaims = new AtomicLong();

    /**
     * @param room how many more outcomes can be recorded without waiting: the loop claims no more
     * @param wakeUp what wakes the loop before its poll interval; the loop signals it too when a
     *     slot frees up (while it gathers slots for a full claim, when enough have)
     */
    public ClaimLoop(
            Source<T> source,
            Runner<T> runner,
            IntSupplier room,
            WakeUp wakeUp,
            Settings settings) {
        this.source = source;
        this.runner = runner;
        this.room = room;
        this.wakeUp = wakeUp;
        this.settings = settings;
        this.slots = new Semaphore(settings.concurrency());
        this.pool = new SlotThreads(settings.concurrency(), settings.slotThread());
        this.loop = new Thread(this::run, settings.loopThread());
    }

    public void start() {
        loop.start();
    }

    private int free() {
        // Never claim more than there are slots to run and room to record the outcomes.
        return Math.min(slots.availablePermits(), room.getAsInt());
    }

    private void run() {
        boolean backlog = false;
        int batch = Math.max(1, settings.concurrency() / 2);
        while (claiming) {
            try {
                // After a full claim, rather than one claim per freed slot (7 deliveries per claim
                // on the callback benchmark), let a few more slots free up (briefly) and claim them
                // together.
                int free = backlog ? gatherFree(batch) : free();
                int claimed = free == 0 ? 0 : source.claim(free, handOff);
                if (free > 0) {
                    claims.incrementAndGet();
                }
                backlog = free == 0 ? backlog : claimed == free;
                if (failing) {
                    log.info("{} reaches the database again", settings.duty());
                    failing = false;
                }
                if (free == 0 || claimed < free) {
                    wakeUp.await(settings.pollInterval());
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                failedClaims.incrementAndGet();
                if (!failing) {
                    log.warn(
                            "{} cannot claim {}, retrying every {}: {}",
                            settings.duty(),
                            settings.items(),
                            settings.pollInterval(),
                            e.getMessage());
                    failing = true;
                }
                try {
                    Thread.sleep(settings.pollInterval().toMillis());
                } catch (InterruptedException interrupted) {
                    return;
                }
            }
        }
    }

    private int gatherFree(int wanted) throws InterruptedException {
        wakeAtFree = wanted;
        try {
            return Batches.awaitFree(this::free, wanted, GATHER_SLOTS_FOR_AT_MOST, wakeUp);
        } finally {
            wakeAtFree = 1;
        }
    }

    /** Claims made and claims that failed (the database away), for the owner's duty status. */
    public Duty.Status status() {
        return new Duty.Status(claims.get(), failedClaims.get(), failing);
    }

    private void handOff(T item) {
        // Never waits (only this loop takes slots, and no more than are free); not interruptible,
        // so that an item already taken is run rather than dropped when the loop is stopped.
        slots.acquireUninterruptibly();
        pool.execute(
                () -> {
                    try {
                        runner.run(item);
                    } finally {
                        slots.release();
                        if (slots.availablePermits() >= wakeAtFree) {
                            wakeUp.signal();
                        }
                    }
                });
    }

    /**
     * Stops claiming and lets the items running finish within {@code grace}; then runs {@code
     * handBack} (which asks those still running to stop) and waits up to {@code handBackGrace} more
     * before interrupting them.
     */
    public void close(Duration grace, Runnable handBack, Duration handBackGrace)
            throws InterruptedException {
        claiming = false;
        loop.interrupt();
        loop.join(5_000);
        pool.shutdown();
        if (!pool.awaitTermination(grace.toMillis())) {
            handBack.run();
            if (!pool.awaitTermination(handBackGrace.toMillis())) {
                pool.shutdownNow();
            }
        }
    }
}
