package dev.pulse.server.metrics;

import dev.pulse.workers.flow.WaitingReasons;
import io.prometheus.metrics.model.registry.Collector;
import java.time.Clock;

/**
 * The {@code pulse_tasks_waiting{reason}} gauge: due, queued tasks held back by a limit, per reason
 * ({@link WaitingReasons}, which names every reason, 0 when none waits for it; no agent or key
 * labels, to keep the series few).
 */
final class WaitingTasks {

    static final String NAME = "pulse_tasks_waiting";

    /** Waiting rows read at most per refresh: beyond this the figures are a lower bound. */
    static final long CAP = 100_000;

    private WaitingTasks() {}

    static Collector gauge(WaitingReasons waiting, Clock clock) {
        return new CachedGauge(
                NAME,
                "Due tasks held back in the queue by a limit, per reason (counted up to "
                        + CAP
                        + " in all)",
                "reason",
                () -> waiting.countsByReason(CAP),
                clock);
    }
}
