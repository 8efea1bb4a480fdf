package dev.pulse.workers.keys;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/**
 * What a key may do. {@code admin} may do everything; {@code tasks:write} includes {@code
 * tasks:complete}, the narrow scope an asynchronous agent needs to report its results; {@code
 * tasks:work} is a remote worker's: claim, heartbeat and report (so it includes {@code
 * tasks:complete}). (The HTTP layer names the scope a route needs through its own role type.)
 */
public enum Scope {
    TASKS_READ("tasks:read"),
    TASKS_WRITE("tasks:write"),
    TASKS_COMPLETE("tasks:complete"),
    TASKS_WORK("tasks:work"),
    SCHEDULES_READ("schedules:read"),
    SCHEDULES_WRITE("schedules:write"),
    AGENTS_READ("agents:read"),
    METRICS_READ("metrics:read"),
    ADMIN("admin");

    private final String wire;

    Scope(String wire) {
        this.wire = wire;
    }

    public String wire() {
        return wire;
    }

    public static Optional<Scope> fromWire(String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        return Arrays.stream(values()).filter(s -> s.wire.equals(v)).findFirst();
    }
}
