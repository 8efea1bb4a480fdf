package dev.pulse.server.config;

import java.net.URI;
import java.time.Duration;
import java.util.Map;

/**
 * Where a node's spans go, read from OpenTelemetry's standard variables ({@code
 * OTEL_EXPORTER_OTLP_ENDPOINT}, {@code OTEL_SERVICE_NAME}, {@code OTEL_EXPORTER_OTLP_HEADERS},
 * {@code OTEL_BSP_SCHEDULE_DELAY}). Without an endpoint, tracing is off.
 *
 * @param otlpEndpoint the collector's OTLP/HTTP base URL ({@code /v1/traces} is added), or null
 * @param headers sent with every export (e.g. an API key of a hosted collector)
 * @param exportDelay how long finished spans wait to be exported in a batch
 */
public record TracingConfig(
        URI otlpEndpoint, String serviceName, Map<String, String> headers, Duration exportDelay) {

    public TracingConfig {
        headers = Map.copyOf(headers);
    }

    public boolean enabled() {
        return otlpEndpoint != null;
    }

    /** Never the headers: they may hold a collector's credentials. */
    @Override
    public String toString() {
        return enabled() ? otlpEndpoint + " as " + serviceName : "off";
    }
}
