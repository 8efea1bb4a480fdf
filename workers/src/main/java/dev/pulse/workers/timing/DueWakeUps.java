package dev.pulse.workers.timing;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Wakes the queue's waiters when a delayed task queued here becomes due, instead of at the next
 * poll: a remote worker's long poll answers within milliseconds of a task's {@code run_at}, not
 * within the poll interval. The wake-up it gives is the one a queued task gives (this node's
 * workers, its waiting claims and, through NOTIFY, every other node's).
 *
 * <p>Due times are rounded up to {@link #GRAIN}, so a burst of delayed tasks costs one timer per
 * grain, and at most {@link #MAX_PENDING} timers wait at once; beyond them, and after a restart,
 * the poll finds the task as before.
 */
public final class DueWakeUps implements AutoCloseable {

    static final Duration GRAIN = Duration.ofMillis(5);
    static final int MAX_PENDING = 10_000;

    private final WakeUp queued;
    private final Clock clock;
    private final ScheduledExecutorService timers;
    private final ConcurrentSkipListSet<Long> pending = new ConcurrentSkipListSet<>();

    /**
     * @param queued the wake-up a newly queued task gives
     */
    public DueWakeUps(WakeUp queued, Clock clock) {
        this.queued = queued;
        this.clock = clock;
        this.timers =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "pulse-due-wake-ups");
                            t.setDaemon(true);
                            return t;
                        });
    }

    /**
     * A task was queued: wakes the waiters now, for a task already due, and at {@code runAt} if
     * that is still to come.
     */
    public void queued(Instant runAt) {
        queued.signal();
        at(runAt);
    }

    /** Wakes the waiters at {@code due} (a task's {@code run_at}), if that is still to come. */
    public void at(Instant due) {
        if (due == null) {
            return;
        }
        long grain = GRAIN.toMillis();
        long tick = Math.floorDiv(due.toEpochMilli() + grain - 1, grain) * grain;
        long delay = tick - clock.millis();
        if (delay <= 0 || pending.size() >= MAX_PENDING || !pending.add(tick)) {
            return;
        }
        try {
            timers.schedule(
                    () -> {
                        pending.remove(tick);
                        queued.signal();
                    },
                    delay,
                    TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // The node is stopping: nothing waits for the wake-up any more.
            pending.remove(tick);
        }
    }

    @Override
    public void close() {
        timers.shutdownNow();
    }
}
