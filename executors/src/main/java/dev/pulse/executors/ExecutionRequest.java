package dev.pulse.executors;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pulse.executors.agents.AgentDefinition;
import java.time.Duration;
import java.util.UUID;

/**
 * One attempt of one task, as an executor sees it. {@code leaseToken} fences the attempt: executors
 * keep it to themselves, except for handing it to an asynchronous agent, which needs it to report
 * its own result. {@code trace} is the attempt's trace context, passed on to the agent.
 */
public record ExecutionRequest(
        UUID taskId,
        int attempt,
        UUID leaseToken,
        AgentDefinition agent,
        JsonNode input,
        Duration timeout,
        TraceContext trace) {

    public ExecutionRequest {
        if (trace == null) {
            trace = TraceContext.NONE;
        }
    }

    /** An attempt outside any trace. */
    public ExecutionRequest(
            UUID taskId,
            int attempt,
            UUID leaseToken,
            AgentDefinition agent,
            JsonNode input,
            Duration timeout) {
        this(taskId, attempt, leaseToken, agent, input, timeout, TraceContext.NONE);
    }

    /** The same attempt, run in {@code trace}. */
    public ExecutionRequest withTrace(TraceContext trace) {
        return new ExecutionRequest(taskId, attempt, leaseToken, agent, input, timeout, trace);
    }
}
