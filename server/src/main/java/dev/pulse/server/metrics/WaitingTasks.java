package dev.pulse.server.metrics;

import dev.pulse.workers.flow.WaitingReasons;
import io.prometheus.metrics.model.registry.Collector;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;

/**
 * The {@code pulse_tasks_waiting{reason}} gauge: due, queued tasks held back by a limit, per reason
 * ({@link WaitingReasons}; no agent or key labels, to keep the series few). Read at scrape time,
 * cached a few seconds; every reason is always present (0 when none waits for it); NaN when the
 * database can't be read.
 */
final class WaitingTasks implements Collector {

    static final String NAME = "pulse_tasks_waiting";

    /** Waiting rows read at most per refresh: beyond this the figures are a lower bound. */
    static final long CAP = 100_000;

    private static final Duration CACHE = Duration.ofSeconds(5);

    private final WaitingReasons waiting;
    private final Clock clock;
    private final Map<String, Double> counts = new TreeMap<>();
    private Instant readAt = Instant.EPOCH;

    WaitingTasks(WaitingReasons waiting, Clock clock) {
        this.waiting = waiting;
        this.clock = clock;
    }

    @Override
    public synchronized MetricSnapshot collect() {
        Instant now = clock.instant();
        if (Duration.between(readAt, now).compareTo(CACHE) >= 0) {
            try {
                waiting.countsByReason(CAP)
                        .forEach((reason, n) -> counts.put(reason, n.doubleValue()));
            } catch (RuntimeException e) {
                counts.replaceAll((reason, n) -> Double.NaN);
            }
            readAt = now;
        }
        GaugeSnapshot.Builder gauge =
                GaugeSnapshot.builder()
                        .name(NAME)
                        .help(
                                "Due tasks held back in the queue by a limit, per reason (counted up to "
                                        + CAP
                                        + " in all)");
        counts.forEach(
                (reason, n) ->
                        gauge.dataPoint(
                                GaugeSnapshot.GaugeDataPointSnapshot.builder()
                                        .labels(Labels.of("reason", reason))
                                        .value(n)
                                        .build()));
        return gauge.build();
    }

    @Override
    public String getPrometheusName() {
        return NAME;
    }
}
