package dev.pulse.workers.schedules;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A stored schedule's ticks, the instants that become tasks: its cron times (in its zone, under its
 * DST policy) or {@code ticksFrom + k × every} for k = 0, 1, …, from {@code ticksFrom} on, cut off
 * after {@code until} and after the first {@code times}. Every node computes the same instants from
 * the same row, which is what lets the UNIQUE (schedule, tick) row keep one task per tick.
 */
public final class Ticks {

    private final ScheduleDefinition definition;
    private final Instant ticksFrom;
    private Instant end;
    private boolean endKnown;

    Ticks(ScheduleDefinition definition, Instant ticksFrom) {
        this.definition = definition;
        this.ticksFrom = ticksFrom;
    }

    /** The next {@code count} ticks strictly after {@code after}, oldest first. */
    List<Instant> next(Instant after, int count) {
        Instant end = end();
        List<Instant> ticks = new ArrayList<>();
        for (Instant t : unbounded(after, count)) {
            if (end != null && t.isAfter(end)) {
                break;
            }
            ticks.add(t);
        }
        return ticks;
    }

    /**
     * Ticks in ({@code after}, {@code until}], oldest first, at most {@code limit} of the latest;
     * looks back at most {@link CronSpec#MAX_LOOK_BACK}.
     */
    List<Instant> between(Instant after, Instant until, int limit) {
        Instant end = end();
        Instant last = end != null && end.isBefore(until) ? end : until;
        if (definition.cron() != null) {
            return definition
                    .cron()
                    .fireTimesBetween(
                            definition.timezone(), definition.dst(), cronFrom(after), last, limit);
        }
        Instant from = later(after, until.minus(CronSpec.MAX_LOOK_BACK));
        if (last.isBefore(ticksFrom) || !last.isAfter(from)) {
            return List.of();
        }
        long firstIndex = indexAfter(from);
        long lastIndex = Duration.between(ticksFrom, last).dividedBy(period());
        long start = Math.max(firstIndex, lastIndex - limit + 1);
        List<Instant> ticks = new ArrayList<>();
        for (long k = start; k <= lastIndex; k++) {
            ticks.add(tick(k));
        }
        return ticks;
    }

    /** Whether {@code t} is one of the ticks. */
    boolean contains(Instant t) {
        List<Instant> next = next(t.minusNanos(1), 1);
        return !next.isEmpty() && next.get(0).equals(t);
    }

    /** The last tick, or null when ticks never end. */
    Instant end() {
        if (!endKnown) {
            Bounds bounds = definition.bounds();
            Instant byTimes = null;
            if (bounds.times() != null && definition.every() != null) {
                byTimes = tick(bounds.times() - 1);
            } else if (bounds.times() != null) {
                List<Instant> first = unbounded(ticksFrom.minusNanos(1), bounds.times());
                byTimes = first.size() < bounds.times() ? null : first.get(first.size() - 1);
            }
            Instant until = bounds.until();
            end =
                    byTimes == null
                            ? until
                            : until == null || byTimes.isBefore(until) ? byTimes : until;
            endKnown = true;
        }
        return end;
    }

    private List<Instant> unbounded(Instant after, int count) {
        if (definition.cron() != null) {
            return definition
                    .cron()
                    .nextFireTimes(definition.timezone(), definition.dst(), cronFrom(after), count);
        }
        Instant from = later(after, ticksFrom.minusNanos(1));
        List<Instant> ticks = new ArrayList<>(Math.min(count, 1024));
        long k = indexAfter(from);
        for (int i = 0; i < count; i++) {
            ticks.add(tick(k + i));
        }
        return ticks;
    }

    /**
     * Cron ticks start at {@code start_at} when it is given; otherwise which ticks are due is
     * {@code fired_through}'s business alone, as before bounds existed ({@code times} still counts
     * from {@code ticksFrom}).
     */
    private Instant cronFrom(Instant after) {
        Instant start = definition.bounds().startAt();
        return start == null ? after : later(after, start.minusNanos(1));
    }

    /** The index of the first interval tick strictly after {@code t} (t ≥ ticksFrom − 1 ns). */
    private long indexAfter(Instant t) {
        if (t.isBefore(ticksFrom)) {
            return 0;
        }
        // Ticks 0..k are at or before t.
        return Duration.between(ticksFrom, t).dividedBy(period()) + 1;
    }

    private Instant tick(long k) {
        return ticksFrom.plus(period().multipliedBy(k));
    }

    private Duration period() {
        return definition.every().period();
    }

    private static Instant later(Instant a, Instant b) {
        return a.isAfter(b) ? a : b;
    }
}
