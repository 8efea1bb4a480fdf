package dev.pulse.executors;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pulse.executors.agents.AgentDefinition;
import java.time.Duration;
import java.util.UUID;

/** One attempt of one task, as an executor sees it. */
public record ExecutionRequest(UUID taskId, int attempt, AgentDefinition agent, JsonNode input, Duration timeout) {
}
