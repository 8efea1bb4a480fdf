package dev.pulse.server.metrics;

import dev.pulse.workers.tasks.TaskFigures;
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
 * The {@code pulse_tasks_ready{agent}} gauge: due and unclaimed tasks per agent, what an autoscaler
 * scales workers on. Read at scrape time through {@link TaskFigures#readyByAgent} (an index scan of
 * the claim order stopping at {@link #CAP} rows), cached a few seconds so that several scrapers
 * cost one query. An agent once seen stays in the output, at 0 when it has nothing ready, so its
 * series doesn't vanish; NaN when the database can't be read.
 */
final class ReadyTasks implements Collector {

    static final String NAME = "pulse_tasks_ready";

    /** Rows read at most per refresh: beyond this the figures are a lower bound. */
    static final long CAP = 10_000;

    private static final Duration CACHE = Duration.ofSeconds(5);

    private final TaskFigures tasks;
    private final Clock clock;
    private final Map<String, Double> ready = new TreeMap<>();
    private Instant readAt = Instant.EPOCH;

    ReadyTasks(TaskFigures tasks, Clock clock) {
        this.tasks = tasks;
        this.clock = clock;
    }

    @Override
    public synchronized MetricSnapshot collect() {
        Instant now = clock.instant();
        if (Duration.between(readAt, now).compareTo(CACHE) >= 0) {
            try {
                Map<String, Long> counts = tasks.readyByAgent(CAP);
                ready.replaceAll((agent, n) -> 0.0);
                counts.forEach((agent, n) -> ready.put(agent, n.doubleValue()));
            } catch (RuntimeException e) {
                ready.replaceAll((agent, n) -> Double.NaN);
            }
            readAt = now;
        }
        GaugeSnapshot.Builder gauge =
                GaugeSnapshot.builder()
                        .name(NAME)
                        .help(
                                "Tasks that are due and not claimed, per agent (counted up to "
                                        + CAP
                                        + " in all)");
        ready.forEach(
                (agent, n) ->
                        gauge.dataPoint(
                                GaugeSnapshot.GaugeDataPointSnapshot.builder()
                                        .labels(Labels.of("agent", agent))
                                        .value(n)
                                        .build()));
        return gauge.build();
    }

    @Override
    public String getPrometheusName() {
        return NAME;
    }
}
