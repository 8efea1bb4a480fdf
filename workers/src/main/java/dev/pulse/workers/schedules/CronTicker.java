package dev.pulse.workers.schedules;

import dev.pulse.workers.maintenance.PeriodicDuty;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The scheduler role: one thread per node that fires each schedule's ticks ({@link
 * Schedule#nextFireTimes}: its cron times as its zone and DST policy run them, or its interval).
 * Every scheduler node fires every tick; {@link ScheduleFirer} turns a tick into at most one task
 * through the UNIQUE (schedule, tick) row, so any number of nodes (in any number of JVMs) enqueue
 * each tick once. Which ticks are due is decided by the database clock. The loop sleeps until the
 * next tick of any schedule (at most {@code syncInterval}), wakes at once when {@link #changed()}
 * is signalled, and every {@code syncInterval} also releases ticks held behind running tasks and
 * applies the misfire policy to ticks no scheduler fired within {@link #MISFIRE_THRESHOLD}.
 *
 * <p>It holds no state outside this object, so several nodes embedded in one JVM each tick on their
 * own (the Quartz scheduler it replaced was shared by name through Quartz's static
 * SchedulerRepository).
 */
public final class CronTicker extends PeriodicDuty {

    private static final Logger log = LoggerFactory.getLogger(CronTicker.class);

    /** A tick up to this late is still fired; older missed ticks follow the misfire policy. */
    static final Duration MISFIRE_THRESHOLD = Duration.ofSeconds(60);

    /** Waking this much after a tick is due absorbs sleeping a hair short of it. */
    private static final Duration WAKE_MARGIN = Duration.ofMillis(5);

    private final ScheduleStore store;
    private final ScheduleFirer firer;
    private final Duration syncInterval;
    private Duration untilNextRound;
    private String syncedVersion = "";
    private List<Schedule> schedules = List.of();

    /** Per schedule, the latest instant up to which this node has fired its ticks. */
    private final Map<String, Instant> firedUpTo = new HashMap<>();

    private Instant lastMaintenance = Instant.EPOCH;

    public CronTicker(ScheduleStore store, ScheduleFirer firer, Duration syncInterval) {
        super("cron", syncInterval, Duration.ZERO);
        this.store = store;
        this.firer = firer;
        this.syncInterval = syncInterval;
        this.untilNextRound = syncInterval;
    }

    /**
     * Tells the loop a schedule changed, so the change takes effect now rather than at the next
     * sync.
     */
    public void changed() {
        wakeUp();
    }

    @Override
    protected void pass() {
        untilNextRound = syncInterval;
        untilNextRound = round(firer.databaseNow());
    }

    @Override
    protected Duration untilNextPass() {
        return untilNextRound;
    }

    @Override
    protected void failed(RuntimeException e) {
        log.warn("schedule round failed; retrying in {}: {}", syncInterval, e.getMessage());
    }

    /**
     * One round at database time {@code now}: fires due ticks; returns how long to sleep before the
     * next.
     */
    Duration round(Instant now) {
        String version = store.version();
        if (!version.equals(syncedVersion)) {
            reload(store.list());
            syncedVersion = version;
        }
        // Missed ticks first: firing a fresh tick moves fired_through past the ones before it.
        if (!now.isBefore(lastMaintenance.plus(syncInterval))) {
            firer.releaseWaiting();
            int recovered = firer.recoverMissedTicks(MISFIRE_THRESHOLD);
            if (recovered > 0) {
                log.info("fired {} missed schedule tick(s) per their misfire policy", recovered);
            }
            lastMaintenance = now;
        }
        Instant earliestNext = now.plus(syncInterval);
        for (Schedule schedule : schedules) {
            ScheduleDefinition d = schedule.definition();
            if (!d.enabled()) {
                continue;
            }
            fireDue(schedule, now);
            List<Instant> next = schedule.nextFireTimes(now, 1);
            if (!next.isEmpty() && next.get(0).isBefore(earliestNext)) {
                earliestNext = next.get(0);
            }
        }
        Duration sleep = Duration.between(now, earliestNext).plus(WAKE_MARGIN);
        return sleep.isNegative() ? WAKE_MARGIN : sleep;
    }

    /**
     * Fires the ticks in (what this node fired up to, now] that are younger than the misfire
     * threshold.
     */
    private void fireDue(Schedule schedule, Instant now) {
        Instant from = firedUpTo.get(schedule.name());
        Instant oldestToFire = now.minus(MISFIRE_THRESHOLD);
        if (from.isBefore(oldestToFire)) {
            from = oldestToFire; // older ones are the misfire policy's
            // (ScheduleFirer.recoverMissedTicks)
        }
        for (Instant tick : schedule.fireTimesBetween(from, now, Integer.MAX_VALUE)) {
            ScheduleFirer.Fired fired = firer.fire(schedule.name(), tick);
            log.debug("schedule {} tick {}: {}", schedule.name(), tick, fired.outcome());
        }
        firedUpTo.put(schedule.name(), now);
    }

    private void reload(List<Schedule> latest) {
        Map<String, Instant> kept = new HashMap<>();
        for (Schedule schedule : latest) {
            // A changed, resumed or new schedule has fired_through reset to when it changed, so
            // no tick of its old form (or from while it was paused) fires.
            Instant mine = firedUpTo.get(schedule.name());
            Instant stored = schedule.firedThrough();
            kept.put(schedule.name(), mine == null || stored.isAfter(mine) ? stored : mine);
            boolean known =
                    schedules.stream().anyMatch(s -> s.definition().equals(schedule.definition()));
            if (!known && schedule.definition().enabled()) {
                log.info(
                        "schedule {} fires on {} in {}",
                        schedule.name(),
                        schedule.definition().timing(),
                        schedule.timezone());
            }
        }
        firedUpTo.clear();
        firedUpTo.putAll(kept);
        schedules = latest;
    }
}
