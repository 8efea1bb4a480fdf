package dev.pulse.server.dashboard;

import io.javalin.config.RoutesConfig;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.DoubleSupplier;

/**
 * {@code /dashboard}: counts per state and agent, the last hour's throughput and failure rate,
 * queue lag and live nodes. The live part re-renders itself every few seconds through htmx ({@code
 * /dashboard/overview/live}); its figures are cached for a second, so any number of open dashboards
 * cost the database the same.
 */
final class OverviewPage {

    static final String LIVE = Dashboard.ROOT + "/overview/live";
    private static final Duration CACHE = Duration.ofSeconds(1);

    private final OverviewQueries queries;
    private final Templates templates;
    private final DoubleSupplier queueLagSeconds;
    private final Duration lease;
    private final Clock clock;
    private Map<String, Object> cached;
    private Instant cachedAt = Instant.EPOCH;

    OverviewPage(
            OverviewQueries queries,
            Templates templates,
            DoubleSupplier queueLagSeconds,
            Duration lease,
            Clock clock) {
        this.queries = queries;
        this.templates = templates;
        this.queueLagSeconds = queueLagSeconds;
        this.lease = lease;
        this.clock = clock;
    }

    void register(RoutesConfig routes) {
        routes.get(
                Dashboard.ROOT,
                ctx -> templates.render(ctx, "overview", figures()),
                DashboardRole.SIGNED_IN);
        routes.get(
                LIVE,
                ctx -> templates.render(ctx, "overview-live", figures()),
                DashboardRole.SIGNED_IN);
    }

    private synchronized Map<String, Object> figures() {
        Instant now = clock.instant();
        if (cached != null && Duration.between(cachedAt, now).compareTo(CACHE) < 0) {
            return cached;
        }
        List<OverviewQueries.Minute> minutes = queries.lastHour();
        long succeeded = minutes.stream().mapToLong(OverviewQueries.Minute::succeeded).sum();
        long failed = minutes.stream().mapToLong(OverviewQueries.Minute::failed).sum();
        Map<String, Object> model = new HashMap<>();
        model.put("nav", "overview");
        model.put("states", queries.stateCounts());
        model.put("agents", queries.byAgent().values());
        model.put("chart", ThroughputChart.svg(minutes));
        model.put("hourSucceeded", Formats.number(succeeded));
        model.put("hourFailed", Formats.number(failed));
        model.put("hourFailureRate", Formats.percent(failed, succeeded + failed));
        model.put("perMinute", String.format(Locale.ROOT, "%.1f", (succeeded + failed) / 60.0));
        double lag = queueLagSeconds.getAsDouble();
        model.put(
                "queueLag",
                Double.isNaN(lag)
                        ? "unknown"
                        : Formats.duration(Duration.ofMillis((long) (lag * 1000))));
        List<OverviewQueries.LiveNode> nodes = queries.liveNodes(lease);
        model.put(
                "nodes",
                nodes.stream()
                        .map(
                                n ->
                                        Map.of(
                                                "id",
                                                n.id(),
                                                "host",
                                                n.host(),
                                                "roles",
                                                String.join(", ", n.roles()),
                                                "running",
                                                n.running(),
                                                "heartbeat",
                                                Formats.relative(n.heartbeatAt(), now)))
                        .toList());
        model.put("updatedAt", Formats.time(now));
        cached = model;
        cachedAt = now;
        return model;
    }
}
