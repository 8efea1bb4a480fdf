package dev.pulse.server.tracing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.zip.GZIPInputStream;

/**
 * Stands in for an OpenTelemetry Collector (which tests cannot reach): a real HTTP server on
 * loopback serving OTLP/HTTP's {@code POST /v1/traces}, which decodes each export with the
 * protocol's generated classes (opentelemetry-proto) and keeps every span with the resource that
 * sent it.
 */
final class OtlpReceiverStandIn implements AutoCloseable {

    /** A span as received: its ids in hex, its attributes as strings, and who sent it. */
    record ReceivedSpan(
            String name,
            Span.SpanKind kind,
            String traceId,
            String spanId,
            String parentSpanId,
            Map<String, String> attributes,
            Map<String, String> resource,
            boolean error) {

        String attribute(String key) {
            return attributes.get(key);
        }
    }

    private final HttpServer server;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final List<ReceivedSpan> spans = new CopyOnWriteArrayList<>();
    private final List<String> problems = new CopyOnWriteArrayList<>();

    OtlpReceiverStandIn() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(threads);
        server.createContext("/", this::handle);
        server.start();
    }

    /** The base URL to set as {@code OTEL_EXPORTER_OTLP_ENDPOINT}. */
    String endpoint() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    List<ReceivedSpan> spans() {
        return List.copyOf(spans);
    }

    /** Requests it could not take: wrong path or method, or a body that is not an export. */
    List<String> problems() {
        return List.copyOf(problems);
    }

    /** The first span received that matches, waiting for it up to {@code timeout}. */
    ReceivedSpan await(Predicate<ReceivedSpan> matching, String what, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            Optional<ReceivedSpan> found = spans.stream().filter(matching).findFirst();
            if (found.isPresent()) {
                return found.get();
            }
            Thread.sleep(50);
        }
        throw new AssertionError(
                "no span "
                        + what
                        + " reached the OTLP receiver within "
                        + timeout
                        + "; received: "
                        + spans.stream()
                                .map(s -> s.name() + " " + s.traceId() + " " + s.attributes())
                                .toList()
                        + "; problems: "
                        + problems);
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            if (!exchange.getRequestMethod().equals("POST")
                    || !exchange.getRequestURI().getPath().equals("/v1/traces")) {
                problems.add(exchange.getRequestMethod() + " " + exchange.getRequestURI());
                exchange.sendResponseHeaders(404, -1);
                return;
            }
            String type = exchange.getRequestHeaders().getFirst("Content-Type");
            if (!"application/x-protobuf".equals(type)) {
                problems.add("Content-Type " + type);
                exchange.sendResponseHeaders(415, -1);
                return;
            }
            InputStream body = exchange.getRequestBody();
            if ("gzip".equals(exchange.getRequestHeaders().getFirst("Content-Encoding"))) {
                body = new GZIPInputStream(body);
            }
            ExportTraceServiceRequest export = ExportTraceServiceRequest.parseFrom(body);
            for (ResourceSpans resourceSpans : export.getResourceSpansList()) {
                Map<String, String> resource =
                        strings(resourceSpans.getResource().getAttributesList());
                for (ScopeSpans scope : resourceSpans.getScopeSpansList()) {
                    for (Span span : scope.getSpansList()) {
                        spans.add(
                                new ReceivedSpan(
                                        span.getName(),
                                        span.getKind(),
                                        hex(span.getTraceId().toByteArray()),
                                        hex(span.getSpanId().toByteArray()),
                                        hex(span.getParentSpanId().toByteArray()),
                                        strings(span.getAttributesList()),
                                        resource,
                                        span.getStatus().getCode()
                                                == io.opentelemetry.proto.trace.v1.Status.StatusCode
                                                        .STATUS_CODE_ERROR));
                    }
                }
            }
            byte[] answer = ExportTraceServiceResponse.getDefaultInstance().toByteArray();
            exchange.getResponseHeaders().add("Content-Type", "application/x-protobuf");
            exchange.sendResponseHeaders(200, answer.length == 0 ? -1 : answer.length);
            if (answer.length > 0) {
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(answer);
                }
            }
        } catch (RuntimeException e) {
            problems.add(e.toString());
            throw e;
        }
    }

    private static Map<String, String> strings(List<KeyValue> attributes) {
        return attributes.stream()
                .collect(
                        Collectors.toMap(KeyValue::getKey, kv -> text(kv.getValue()), (a, b) -> b));
    }

    private static String text(AnyValue value) {
        return switch (value.getValueCase()) {
            case STRING_VALUE -> value.getStringValue();
            case INT_VALUE -> Long.toString(value.getIntValue());
            case DOUBLE_VALUE -> Double.toString(value.getDoubleValue());
            case BOOL_VALUE -> Boolean.toString(value.getBoolValue());
            default -> value.toString();
        };
    }

    private static String hex(byte[] bytes) {
        return HexFormat.of().formatHex(bytes);
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
