package dev.pulse.server.mcp;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.api.agents.AgentViews;
import dev.pulse.workers.keys.Scope;
import java.util.List;
import java.util.Set;

/** {@code list_agents}: the agents this node can run, as {@code GET /v1/agents} lists them. */
final class AgentTools {

    private final AgentViews agents;
    private final ObjectMapper json;

    AgentTools(AgentViews agents, ObjectMapper json) {
        this.agents = agents;
        this.json = json;
    }

    List<PulseTool> tools() {
        return List.of(
                new PulseTool(
                        "list_agents",
                        "The agents tasks and schedules can run (as GET /v1/agents): name,"
                                + " executor, timeout, attempts, and whether this node can run"
                                + " it now.",
                        Scope.AGENTS_READ,
                        InputSchema.object(json).closed().build(),
                        call -> {
                            new Arguments(call.arguments(), Set.of());
                            return agents.list();
                        }));
    }
}
