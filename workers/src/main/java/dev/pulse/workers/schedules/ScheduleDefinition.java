package dev.pulse.workers.schedules;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.ZoneId;
import java.util.Locale;

/**
 * What a user declares for a schedule, validated: when it fires (cron in a time zone, or {@code
 * every} fixed interval; exactly one of them is set), within which {@code bounds}, what each tick
 * runs (agent, input, metadata, callback), what happens to ticks missed while no scheduler ran
 * ({@code misfire}), to a tick that comes while the previous run is still going ({@code overlap}),
 * and to a fixed-time tick on a day the clocks change ({@code dst}).
 */
public record ScheduleDefinition(
        String name,
        CronSpec cron,
        ZoneId timezone,
        String agent,
        JsonNode input,
        JsonNode metadata,
        String callbackUrl,
        Misfire misfire,
        int catchUpMax,
        Overlap overlap,
        boolean enabled,
        DstPolicy dst,
        Interval every,
        Bounds bounds) {

    /** A cron schedule without bounds. */
    public ScheduleDefinition(
            String name,
            CronSpec cron,
            ZoneId timezone,
            String agent,
            JsonNode input,
            JsonNode metadata,
            String callbackUrl,
            Misfire misfire,
            int catchUpMax,
            Overlap overlap,
            boolean enabled,
            DstPolicy dst) {
        this(
                name,
                cron,
                timezone,
                agent,
                input,
                metadata,
                callbackUrl,
                misfire,
                catchUpMax,
                overlap,
                enabled,
                dst,
                null,
                Bounds.NONE);
    }

    /** The cron expression or the interval, as written: what the logs and pages show. */
    public String timing() {
        return cron != null ? "cron \"" + cron + "\"" : "every " + every;
    }

    public enum Misfire {
        /** Missed ticks are dropped; the schedule goes on with its next tick. */
        SKIP,
        /** One run for all the missed ticks, for the latest of them. */
        RUN_ONCE,
        /** One run per missed tick, for at most {@code catch_up_max} of the latest ones. */
        CATCH_UP
    }

    public enum Overlap {
        /** Start the new run regardless. */
        ALLOW,
        /** Drop the tick. */
        SKIP,
        /** Hold the tick until the previous run ends, then run it. */
        QUEUE
    }

    public static String wire(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }
}
