package dev.pulse.executors;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A W3C trace context (the {@code traceparent} and optional {@code tracestate} values) that an
 * attempt runs in. Agents receive it so that their own spans join the task's trace: as the {@code
 * traceparent}/{@code tracestate} headers of a serverless request, as the {@code
 * TRACEPARENT}/{@code TRACESTATE} environment variables of a process, container or Job.
 */
public record TraceContext(String traceparent, String tracestate) {

    /** No trace: nothing is passed on. */
    public static final TraceContext NONE = new TraceContext(null, null);

    public TraceContext {
        if (tracestate != null && tracestate.isEmpty()) {
            tracestate = null;
        }
    }

    /** A context from stored or received values; {@link #NONE} without a traceparent. */
    public static TraceContext of(String traceparent, String tracestate) {
        return traceparent == null || traceparent.isBlank()
                ? NONE
                : new TraceContext(traceparent, tracestate);
    }

    public boolean isPresent() {
        return traceparent != null;
    }

    /** The context as environment variables: {@code TRACEPARENT} and {@code TRACESTATE}. */
    public Map<String, String> asEnvironment() {
        return named("TRACEPARENT", "TRACESTATE");
    }

    /** The context as HTTP headers: {@code traceparent} and {@code tracestate}. */
    public Map<String, String> asHeaders() {
        return named("traceparent", "tracestate");
    }

    private Map<String, String> named(String parentName, String stateName) {
        Map<String, String> named = new LinkedHashMap<>();
        if (traceparent != null) {
            named.put(parentName, traceparent);
            if (tracestate != null) {
                named.put(stateName, tracestate);
            }
        }
        return named;
    }
}
