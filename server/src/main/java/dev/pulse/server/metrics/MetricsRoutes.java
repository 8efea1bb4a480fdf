package dev.pulse.server.metrics;

import dev.pulse.server.keys.ScopeRole;
import dev.pulse.workers.keys.Scope;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * {@code GET /metrics}: everything in Prometheus text format; needs a key with {@code
 * metrics:read}.
 */
public final class MetricsRoutes {

    private final PrometheusMeterRegistry registry;

    public MetricsRoutes(PrometheusMeterRegistry registry) {
        this.registry = registry;
    }

    public void register(RoutesConfig routes) {
        routes.get("/metrics", this::scrape, ScopeRole.of(Scope.METRICS_READ));
    }

    private void scrape(Context ctx) {
        ctx.contentType("text/plain; version=0.0.4; charset=utf-8").result(registry.scrape());
    }
}
