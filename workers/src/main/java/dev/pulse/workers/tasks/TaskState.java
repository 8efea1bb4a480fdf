package dev.pulse.workers.tasks;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

public enum TaskState {
    SCHEDULED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    FAILED,
    CANCELLED;

    public String wire() {
        return name().toLowerCase(Locale.ROOT);
    }

    public boolean isTerminal() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED;
    }

    /**
     * The state a {@code tasks.state} column holds (the database's check constraint admits only
     * these).
     */
    public static TaskState ofColumn(String value) {
        return valueOf(value.toUpperCase(Locale.ROOT));
    }

    public static Optional<TaskState> fromWire(String value) {
        return Arrays.stream(values()).filter(s -> s.wire().equals(value)).findFirst();
    }
}
