package dev.pulse.server.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.executors.TraceContext;
import dev.pulse.server.api.JsonResponses;
import dev.pulse.server.api.Problem;
import dev.pulse.server.api.ProblemException;
import dev.pulse.server.api.tasks.TraceHeaders;
import dev.pulse.workers.db.DatabaseErrors;
import dev.pulse.workers.keys.ApiKey;
import io.modelcontextprotocol.common.McpTransportContext;
import io.modelcontextprotocol.spec.McpSchema;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a tool call and turns what happened into a tool result: the JSON it returned as structured
 * content plus the same JSON as text; a missing scope, bad input or any other refusal as a result
 * with {@code isError} whose text is the problem document the REST route would have answered.
 */
final class ToolResults {

    private static final Logger log = LoggerFactory.getLogger(ToolResults.class);

    private final JsonResponses responses;

    ToolResults(JsonResponses responses) {
        this.responses = responses;
    }

    McpSchema.CallToolResult run(
            PulseTool tool, McpTransportContext context, McpSchema.CallToolRequest request) {
        ApiKey key = (ApiKey) context.get(McpEndpoint.API_KEY);
        if (!key.allows(tool.scope())) {
            return error(
                    tool,
                    new Problem(
                            "/problems/forbidden",
                            "Forbidden",
                            403,
                            "key '"
                                    + key.name()
                                    + "' lacks the scope "
                                    + tool.scope().wire()
                                    + " this tool needs",
                            List.of()));
        }
        ObjectMapper json = responses.mapper();
        Map<String, Object> arguments = request.arguments();
        ObjectNode node = arguments == null ? json.createObjectNode() : json.valueToTree(arguments);
        try {
            return success(tool.handler().call(new ToolCall(node, key, trace(context, request))));
        } catch (ProblemException e) {
            return error(tool, e.problem());
        } catch (RuntimeException e) {
            if (DatabaseErrors.isTransient(e)) {
                return error(tool, Problem.unavailable());
            }
            log.error("tool {} failed", tool.name(), e);
            return error(tool, Problem.internal());
        }
    }

    /**
     * MCP hosts that trace put the W3C context in the request's {@code _meta} (the OpenTelemetry
     * conventions for MCP), which survives transports without headers; an HTTP {@code traceparent}
     * is the fallback.
     */
    private static TraceContext trace(
            McpTransportContext context, McpSchema.CallToolRequest request) {
        Map<String, Object> meta = request.meta();
        if (meta != null && meta.get("traceparent") instanceof String traceparent) {
            TraceContext carried =
                    TraceHeaders.of(
                            traceparent,
                            meta.get("tracestate") instanceof String state ? state : null);
            if (carried != TraceContext.NONE) {
                return carried;
            }
        }
        return context.get(McpEndpoint.TRACE) instanceof TraceContext header
                ? header
                : TraceContext.NONE;
    }

    private McpSchema.CallToolResult success(JsonNode result) {
        return McpSchema.CallToolResult.builder()
                .structuredContent(responses.mapper().convertValue(result, Map.class))
                .addTextContent(responses.write(result))
                .build();
    }

    private McpSchema.CallToolResult error(PulseTool tool, Problem problem) {
        ObjectNode document = responses.problemJson(problem, McpEndpoint.PATH + "#" + tool.name());
        return McpSchema.CallToolResult.builder()
                .isError(true)
                .structuredContent(responses.mapper().convertValue(document, Map.class))
                .addTextContent(responses.write(document))
                .build();
    }
}
