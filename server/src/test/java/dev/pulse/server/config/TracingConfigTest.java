package dev.pulse.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pulse.workers.config.ConfigException;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Tracing is configured by OpenTelemetry's standard variables, and off without an endpoint. */
class TracingConfigTest {

    @Test
    void withoutAnEndpointTracingIsOff() {
        TracingConfig tracing = new ConfigLoader(name -> null).load(null).tracing();
        assertThat(tracing.enabled()).isFalse();
        assertThat(tracing.serviceName()).isEqualTo("pulse");
        assertThat(tracing.exportDelay()).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void theStandardVariablesSetTheEndpointServiceNameHeadersAndDelay() {
        TracingConfig tracing =
                new ConfigLoader(
                                Map.of(
                                                "OTEL_EXPORTER_OTLP_ENDPOINT",
                                                "https://collector.example:4318/otlp/",
                                                "OTEL_SERVICE_NAME",
                                                "pulse-eu",
                                                "OTEL_EXPORTER_OTLP_HEADERS",
                                                "authorization=Bearer%20s3cret,x-tenant=a",
                                                "OTEL_BSP_SCHEDULE_DELAY",
                                                "250")
                                        ::get)
                        .load(null)
                        .tracing();
        assertThat(tracing.enabled()).isTrue();
        assertThat(tracing.otlpEndpoint())
                .isEqualTo(URI.create("https://collector.example:4318/otlp"));
        assertThat(tracing.serviceName()).isEqualTo("pulse-eu");
        assertThat(tracing.headers())
                .containsEntry("authorization", "Bearer s3cret")
                .containsEntry("x-tenant", "a");
        assertThat(tracing.exportDelay()).isEqualTo(Duration.ofMillis(250));
        assertThat(tracing.toString()).doesNotContain("s3cret");
    }

    @Test
    void aBadEndpointAndAnotherProtocolAreRefusedNamingTheirVariables() {
        assertThatThrownBy(
                        () ->
                                new ConfigLoader(
                                                Map.of(
                                                                "OTEL_EXPORTER_OTLP_ENDPOINT",
                                                                "collector:4318",
                                                                "OTEL_EXPORTER_OTLP_PROTOCOL",
                                                                "grpc")
                                                        ::get)
                                        .load(null))
                .isInstanceOfSatisfying(
                        ConfigException.class,
                        e ->
                                assertThat(e.problems())
                                        .anySatisfy(
                                                p ->
                                                        assertThat(p)
                                                                .contains(
                                                                        "OTEL_EXPORTER_OTLP_ENDPOINT"))
                                        .anySatisfy(
                                                p ->
                                                        assertThat(p)
                                                                .contains(
                                                                        "OTEL_EXPORTER_OTLP_PROTOCOL")));
    }
}
