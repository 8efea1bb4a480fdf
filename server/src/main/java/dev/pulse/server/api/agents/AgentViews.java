package dev.pulse.server.api.agents;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.executors.ExecutorFactory;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.AgentRegistry;

/**
 * Agents as the API shows them (never their commands or environment), for {@code GET /v1/agents}
 * and the MCP tool that mirrors it.
 */
public final class AgentViews {

    private final AgentRegistry agents;
    private final ExecutorFactory executors;
    private final ObjectMapper json;

    public AgentViews(AgentRegistry agents, ExecutorFactory executors, ObjectMapper json) {
        this.agents = agents;
        this.executors = executors;
        this.json = json;
    }

    /** Every agent this node knows: {@code {"items": [...]}}. */
    public ObjectNode list() {
        ObjectNode body = json.createObjectNode();
        ArrayNode items = body.putArray("items");
        agents.all().forEach(a -> items.add(toJson(a)));
        return body;
    }

    ObjectNode toJson(AgentDefinition agent) {
        ObjectNode node = json.createObjectNode();
        node.put("name", agent.name());
        node.put("executor", agent.executor());
        node.put("timeout_seconds", Math.max(1, (agent.timeout().toMillis() + 999) / 1000));
        node.put("max_attempts", agent.maxAttempts());
        node.put("source", agent.source());
        var executor = executors.executorFor(agent);
        var availability = executor.map(e -> e.availability()).orElse(null);
        node.put("available", availability != null && availability.available());
        if (availability == null) {
            node.put(
                    "unavailable_reason",
                    "no executor of kind '" + agent.executor() + "' on this node");
        } else if (!availability.available()) {
            node.put("unavailable_reason", availability.reason());
        }
        return node;
    }
}
