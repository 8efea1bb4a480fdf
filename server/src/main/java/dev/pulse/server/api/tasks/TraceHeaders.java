package dev.pulse.server.api.tasks;

import dev.pulse.executors.TraceContext;
import io.javalin.http.Context;
import java.util.regex.Pattern;

/**
 * The W3C trace context a request to queue tasks came in ({@code traceparent}, {@code tracestate}),
 * stored with its tasks. A malformed {@code traceparent} is ignored, as the W3C recommendation
 * asks, rather than refused: tracing never fails a request.
 */
public final class TraceHeaders {

    /** Version 00's form; a later version may append fields after the flags. */
    private static final Pattern TRACEPARENT =
            Pattern.compile("[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-.*)?");

    /** The recommendation's limit on what a tracestate may hold. */
    private static final int TRACESTATE_MAX = 512;

    private TraceHeaders() {}

    public static TraceContext of(Context ctx) {
        return of(ctx.header("traceparent"), ctx.header("tracestate"));
    }

    /** The context given by these two values, wherever they were carried. */
    public static TraceContext of(String traceparent, String tracestate) {
        if (traceparent == null
                || traceparent.length() > 256
                || !TRACEPARENT.matcher(traceparent.trim()).matches()
                || traceparent.startsWith("ff")) {
            return TraceContext.NONE;
        }
        if (tracestate != null && tracestate.length() > TRACESTATE_MAX) {
            tracestate = null;
        }
        return TraceContext.of(traceparent.trim(), tracestate);
    }
}
