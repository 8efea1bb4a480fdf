package dev.pulse.executors.remote;

import dev.pulse.executors.ExecutionError;
import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.ExecutionResult;
import dev.pulse.executors.Executor;
import dev.pulse.executors.agents.AgentDefinition;
import java.util.List;

/**
 * The {@code remote} kind: agents run by workers outside Pulse, which claim their tasks through
 * {@code POST /v1/workers/claim} and report through heartbeat and complete. A node's own workers
 * never claim these tasks, so {@link #execute} is only reached if that promise is broken; it then
 * fails the attempt rather than pretending to run it. It exists so that such agents validate, list
 * and show as available like every other kind.
 */
public final class RemoteExecutor implements Executor {

    public static final String KIND = "remote";

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public ExecutionResult execute(ExecutionRequest request) {
        return ExecutionResult.failure(
                ExecutionError.EXECUTOR_UNAVAILABLE,
                "agent '"
                        + request.agent().name()
                        + "' is run by remote workers (POST /v1/workers/claim), not by a node");
    }

    @Override
    public List<String> validate(AgentDefinition agent) {
        return agent.remote() == null
                ? List.of("spec.remote: is required for executor remote")
                : List.of();
    }
}
