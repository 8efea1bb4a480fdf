package dev.pulse.workers.schedules;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.UUID;

/**
 * A stored schedule. {@code ticksFrom} is the first instant a tick may have: {@code start_at}, or
 * when the schedule's timing was last set (plus one interval for {@code every}); interval ticks are
 * counted from it.
 */
public record Schedule(
        UUID id,
        ScheduleDefinition definition,
        Instant firedThrough,
        Instant ticksFrom,
        Instant createdAt,
        Instant updatedAt,
        Ticks ticks) {

    public Schedule(
            UUID id,
            ScheduleDefinition definition,
            Instant firedThrough,
            Instant ticksFrom,
            Instant createdAt,
            Instant updatedAt) {
        this(
                id,
                definition,
                firedThrough,
                ticksFrom,
                createdAt,
                updatedAt,
                new Ticks(definition, ticksFrom));
    }

    public enum State {
        ACTIVE,
        PAUSED,
        /** Its last tick ({@code times} or {@code until}) is accounted for: it fires no more. */
        COMPLETED
    }

    public State state() {
        if (ticks.next(firedThrough, 1).isEmpty()) {
            return State.COMPLETED;
        }
        return definition.enabled() ? State.ACTIVE : State.PAUSED;
    }

    /** The next {@code count} ticks strictly after {@code after}. */
    public List<Instant> nextFireTimes(Instant after, int count) {
        return ticks.next(after, count);
    }

    /** Ticks in ({@code after}, {@code until}], oldest first, at most the latest {@code limit}. */
    public List<Instant> fireTimesBetween(Instant after, Instant until, int limit) {
        return ticks.between(after, until, limit);
    }

    /**
     * Whether {@code t} may fire as one of this schedule's ticks: for an interval schedule or one
     * with bounds, one of its ticks within them (so a node that has not yet read a change to them
     * fires nothing extra); an unbounded cron schedule takes any tick it is offered.
     */
    public boolean isTick(Instant t) {
        if (definition.every() == null && definition.bounds().equals(Bounds.NONE)) {
            return true;
        }
        return ticks.contains(t);
    }

    public String name() {
        return definition.name();
    }

    public CronSpec cron() {
        return definition.cron();
    }

    public ZoneId timezone() {
        return definition.timezone();
    }

    public DstPolicy dst() {
        return definition.dst();
    }

    public JsonNode input() {
        return definition.input();
    }
}
