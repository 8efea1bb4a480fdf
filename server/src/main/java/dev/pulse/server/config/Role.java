package dev.pulse.server.config;

import java.util.Locale;

/** What a node runs ({@code PULSE_ROLES}); a fleet can scale each apart. */
public enum Role {
    /** The REST API (every node serves health and metrics regardless). */
    API,
    /** Claims and runs tasks, renews leases, rescues expired ones, delivers callbacks. */
    WORKER,
    /** Fires cron ticks (CronTicker) and applies schedule files. */
    SCHEDULER;

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }
}
