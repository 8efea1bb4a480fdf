package dev.pulse.workers.tracing;

import dev.pulse.executors.TraceContext;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * Spans of a task's life, one trace per task (docs/deployment.md, "Tracing"): each span's parent is
 * the W3C context stored with the task, which survives restarts and crosses nodes, so the claim,
 * the execution and the callback delivery join the enqueue's trace wherever and whenever they
 * happen.
 *
 * <p>Off (no OTLP endpoint configured), no span is made and no context is parsed: a task stores the
 * context it was queued in as received, and its agent receives that.
 */
public final class TaskTracing {

    /** The instrumentation scope Pulse's spans are reported under. */
    public static final String SCOPE = "dev.pulse";

    public static final String ENQUEUE = "pulse.task.enqueue";
    public static final String CLAIM = "pulse.task.claim";
    public static final String EXECUTE = "pulse.task.execute";
    public static final String DELIVER = "pulse.callback.deliver";

    private static final TextMapGetter<TraceContext> STORED =
            new TextMapGetter<>() {
                @Override
                public Iterable<String> keys(TraceContext carrier) {
                    return carrier.asHeaders().keySet();
                }

                @Override
                public String get(TraceContext carrier, String key) {
                    return carrier == null ? null : carrier.asHeaders().get(key);
                }
            };

    private final Tracer tracer;
    private final boolean on;
    private final Clock clock;

    /**
     * @param on whether spans are exported; when false, {@code openTelemetry} is not used at all
     */
    public TaskTracing(OpenTelemetry openTelemetry, boolean on, Clock clock) {
        this.tracer = openTelemetry.getTracer(SCOPE);
        this.on = on;
        this.clock = clock;
    }

    /** No spans; contexts are passed on as received. */
    public static TaskTracing off() {
        return new TaskTracing(OpenTelemetry.noop(), false, Clock.systemUTC());
    }

    public boolean on() {
        return on;
    }

    /** When a span that is made later (a claim's, for the tasks it got) began. */
    public Instant now() {
        return clock.instant();
    }

    /** A span to start under {@code parent} (a new trace when there is none). */
    public SpanBuilder span(String name, SpanKind kind, TraceContext parent) {
        SpanBuilder builder = tracer.spanBuilder(name).setSpanKind(kind);
        return parent.isPresent() ? builder.setParent(extract(parent)) : builder.setNoParent();
    }

    /** The span's context as stored with a task or passed on to an agent. */
    public TraceContext contextOf(Span span) {
        Map<String, String> headers = new HashMap<>();
        W3CTraceContextPropagator.getInstance()
                .inject(Context.root().with(span), headers, Map::put);
        return TraceContext.of(headers.get("traceparent"), headers.get("tracestate"));
    }

    private static Context extract(TraceContext stored) {
        return W3CTraceContextPropagator.getInstance().extract(Context.root(), stored, STORED);
    }
}
