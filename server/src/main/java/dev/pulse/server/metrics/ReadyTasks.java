package dev.pulse.server.metrics;

import dev.pulse.workers.tasks.TaskFigures;
import io.prometheus.metrics.model.registry.Collector;
import java.time.Clock;

/**
 * The {@code pulse_tasks_ready{agent}} gauge: due and unclaimed tasks per agent, what an autoscaler
 * scales workers on. Read through {@link TaskFigures#readyByAgent} (an index scan of the claim
 * order stopping at {@link #CAP} rows).
 */
final class ReadyTasks {

    static final String NAME = "pulse_tasks_ready";

    /** Rows read at most per refresh: beyond this the figures are a lower bound. */
    static final long CAP = 10_000;

    private ReadyTasks() {}

    static Collector gauge(TaskFigures tasks, Clock clock) {
        return new CachedGauge(
                NAME,
                "Tasks that are due and not claimed, per agent (counted up to " + CAP + " in all)",
                "agent",
                () -> tasks.readyByAgent(CAP),
                clock);
    }
}
