package dev.pulse.server.metrics;

import io.prometheus.metrics.model.registry.Collector;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * A gauge with one label whose values are read from the database at scrape time, cached a few
 * seconds so that several scrapers cost one query. A label value once seen stays in the output, at
 * 0 when a later read lacks it, so its series doesn't vanish; every value is NaN when the database
 * can't be read.
 */
final class CachedGauge implements Collector {

    private static final Duration CACHE = Duration.ofSeconds(5);

    private final String name;
    private final String help;
    private final String label;
    private final Supplier<Map<String, Long>> read;
    private final Clock clock;
    private final Map<String, Double> values = new TreeMap<>();
    private Instant readAt = Instant.EPOCH;

    CachedGauge(
            String name, String help, String label, Supplier<Map<String, Long>> read, Clock clock) {
        this.name = name;
        this.help = help;
        this.label = label;
        this.read = read;
        this.clock = clock;
    }

    @Override
    public synchronized MetricSnapshot collect() {
        Instant now = clock.instant();
        if (Duration.between(readAt, now).compareTo(CACHE) >= 0) {
            try {
                Map<String, Long> counts = read.get();
                values.replaceAll((value, n) -> 0.0);
                counts.forEach((value, n) -> values.put(value, n.doubleValue()));
            } catch (RuntimeException e) {
                values.replaceAll((value, n) -> Double.NaN);
            }
            readAt = now;
        }
        GaugeSnapshot.Builder gauge = GaugeSnapshot.builder().name(name).help(help);
        values.forEach(
                (value, n) ->
                        gauge.dataPoint(
                                GaugeSnapshot.GaugeDataPointSnapshot.builder()
                                        .labels(Labels.of(label, value))
                                        .value(n)
                                        .build()));
        return gauge.build();
    }

    @Override
    public String getPrometheusName() {
        return name;
    }
}
