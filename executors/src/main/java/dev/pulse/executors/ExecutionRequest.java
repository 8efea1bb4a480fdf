package dev.pulse.executors;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pulse.executors.agents.AgentDefinition;
import java.time.Duration;
import java.util.UUID;

/**
 * One attempt of one task, as an executor sees it. {@code leaseToken} fences the attempt: executors
 * keep it to themselves, except for handing it to an asynchronous agent, which needs it to report
 * its own result.
 */
public record ExecutionRequest(
        UUID taskId,
        int attempt,
        UUID leaseToken,
        AgentDefinition agent,
        JsonNode input,
        Duration timeout) {}
