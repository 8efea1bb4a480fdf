package dev.pulse.server.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.workers.keys.Scope;

/**
 * One MCP tool: its name, what it does (the model reads this), the scope of the REST route it
 * mirrors, the JSON Schema of its input, and what it runs.
 */
record PulseTool(
        String name, String description, Scope scope, ObjectNode inputSchema, Handler handler) {

    /** Runs a call; bad input or a refusal is thrown as a {@code ProblemException}. */
    @FunctionalInterface
    interface Handler {
        /**
         * @return the result: a JSON object, sent as structured content and as text
         */
        JsonNode call(ToolCall call);
    }
}
