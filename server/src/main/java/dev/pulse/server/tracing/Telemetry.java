package dev.pulse.server.tracing;

import dev.pulse.server.config.TracingConfig;
import dev.pulse.workers.tracing.TaskTracing;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporterBuilder;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import java.time.Clock;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's OpenTelemetry: with an OTLP endpoint configured, an SDK that exports spans in batches
 * over OTLP/HTTP (protobuf, sent with the JDK's HTTP client); otherwise nothing at all, and the
 * {@link TaskTracing} it hands out makes no spans. Closing it exports what is still buffered.
 */
public final class Telemetry implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Telemetry.class);

    private final OpenTelemetrySdk sdk;
    private final TaskTracing tracing;

    private Telemetry(OpenTelemetrySdk sdk, TaskTracing tracing) {
        this.sdk = sdk;
        this.tracing = tracing;
    }

    /**
     * @param node this node's id, reported as {@code service.instance.id}
     */
    public static Telemetry start(TracingConfig config, String node, Clock clock) {
        if (!config.enabled()) {
            return new Telemetry(null, TaskTracing.off());
        }
        OtlpHttpSpanExporterBuilder exporter =
                OtlpHttpSpanExporter.builder().setEndpoint(config.otlpEndpoint() + "/v1/traces");
        config.headers().forEach(exporter::addHeader);
        Resource resource =
                Resource.getDefault()
                        .merge(
                                Resource.create(
                                        Attributes.of(
                                                AttributeKey.stringKey("service.name"),
                                                config.serviceName(),
                                                AttributeKey.stringKey("service.instance.id"),
                                                node)));
        SdkTracerProvider provider =
                SdkTracerProvider.builder()
                        .setResource(resource)
                        .addSpanProcessor(
                                BatchSpanProcessor.builder(exporter.build())
                                        .setScheduleDelay(config.exportDelay())
                                        .build())
                        .build();
        OpenTelemetrySdk sdk = OpenTelemetrySdk.builder().setTracerProvider(provider).build();
        log.info("exporting traces over OTLP to {}", config);
        return new Telemetry(sdk, new TaskTracing(sdk, true, clock));
    }

    public TaskTracing tracing() {
        return tracing;
    }

    @Override
    public void close() {
        if (sdk != null) {
            sdk.shutdown().join(10, TimeUnit.SECONDS);
        }
    }
}
