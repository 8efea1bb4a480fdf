package dev.pulse.server.mcp;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.executors.TraceContext;
import dev.pulse.workers.keys.ApiKey;

/**
 * A tool's arguments, as the JSON object the model sent, the key of the caller, and the trace the
 * call came in (its {@code _meta}'s {@code traceparent}, else the HTTP request's).
 */
record ToolCall(ObjectNode arguments, ApiKey key, TraceContext trace) {}
