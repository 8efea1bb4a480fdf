package dev.pulse.server.mcp;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.api.JsonResponses;
import dev.pulse.server.api.agents.AgentViews;
import dev.pulse.server.api.schedules.ScheduleOperations;
import dev.pulse.server.api.tasks.TaskOperations;
import dev.pulse.workers.keys.Scope;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.json.jackson2.JacksonMcpJsonMapper;
import io.modelcontextprotocol.json.schema.jackson2.DefaultJsonSchemaValidator;
import io.modelcontextprotocol.server.McpServer;
import io.modelcontextprotocol.server.McpStatelessServerFeatures;
import io.modelcontextprotocol.spec.McpSchema;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The node's MCP server, built with the official MCP Java SDK: the tools, served statelessly at
 * {@link McpEndpoint#PATH}.
 */
public final class PulseMcpServer {

    static final String NAME = "pulse";
    static final String VERSION = "0.1.0";

    /** Tools that only read: hosts may run them without asking the user first. */
    private static final Set<Scope> READ_ONLY =
            Set.of(Scope.TASKS_READ, Scope.SCHEDULES_READ, Scope.AGENTS_READ);

    private PulseMcpServer() {}

    /**
     * The endpoint to register with the HTTP server, its tools calling the same operations as the
     * REST routes.
     */
    public static McpEndpoint endpoint(
            TaskOperations tasks,
            ScheduleOperations schedules,
            AgentViews agents,
            JsonResponses responses) {
        ObjectMapper json = responses.mapper();
        // The protocol's own mapper, as the SDK configures it: its messages are not Pulse's JSON.
        McpJsonMapper protocol = new JacksonMcpJsonMapper(new ObjectMapper());
        McpEndpoint endpoint = new McpEndpoint(protocol);
        List<PulseTool> tools = new ArrayList<>();
        tools.addAll(new TaskTools(tasks, json).tools());
        tools.addAll(new AgentTools(agents, json).tools());
        tools.addAll(new ScheduleTools(schedules, json).tools());
        ToolResults results = new ToolResults(responses);
        McpServer.sync(endpoint)
                .serverInfo(NAME, VERSION)
                .instructions(
                        "Pulse runs AI agents durably. Queue a run with queue_task and follow it"
                                + " with wait_for_task; repeat runs with create_schedule;"
                                + " list_agents says which agents exist. Every tool needs a"
                                + " scope of the API key you connected with; a missing scope is a"
                                + " tool error that names it.")
                .capabilities(McpSchema.ServerCapabilities.builder().tools(false).build())
                .jsonMapper(protocol)
                .jsonSchemaValidator(new DefaultJsonSchemaValidator(new ObjectMapper()))
                // Inputs are checked by the REST routes' own parsers, so errors read the same.
                .validateToolInputs(false)
                // Calls run on the request's own thread, which waits for them anyway.
                .immediateExecution(true)
                .tools(tools.stream().map(t -> specification(t, results, json)).toList())
                .build();
        return endpoint;
    }

    private static McpStatelessServerFeatures.SyncToolSpecification specification(
            PulseTool tool, ToolResults results, ObjectMapper json) {
        @SuppressWarnings("unchecked")
        Map<String, Object> schema = json.convertValue(tool.inputSchema(), Map.class);
        McpSchema.Tool described =
                McpSchema.Tool.builder(tool.name())
                        .description(
                                tool.description() + " Needs scope " + tool.scope().wire() + ".")
                        .inputSchema(schema)
                        .annotations(
                                McpSchema.ToolAnnotations.builder()
                                        .readOnlyHint(READ_ONLY.contains(tool.scope()))
                                        .build())
                        .build();
        return McpStatelessServerFeatures.SyncToolSpecification.builder()
                .tool(described)
                .callHandler((context, request) -> results.run(tool, context, request))
                .build();
    }
}
