package dev.pulse.executors.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.ExecutionError;
import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.ExecutionResult;
import dev.pulse.executors.Executor;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.LocalSpec;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Function;

/** The {@code local} executor: a subprocess speaking JSON, or an in-JVM {@link JavaAgent}. */
public final class LocalExecutor implements Executor, AutoCloseable {

    public static final String KIND = "local";

    private final JavaAgents javaAgents;
    private final ProcessRunner processes;
    private final ExecutorService processIo;
    private final AgentTimeouts timeouts = new AgentTimeouts();

    public LocalExecutor(
            JavaAgents javaAgents, ObjectMapper json, Function<String, String> environment) {
        this.javaAgents = javaAgents;
        // Pumps a subprocess's stdin, stdout and stderr while the calling thread waits for it.
        this.processIo =
                Executors.newCachedThreadPool(
                        r -> {
                            Thread t = new Thread(r, "pulse-local-process-io");
                            t.setDaemon(true);
                            return t;
                        });
        this.processes = new ProcessRunner(json, environment, processIo);
    }

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public List<String> validate(AgentDefinition agent) {
        LocalSpec spec = agent.local();
        if (spec == null) {
            return List.of("spec.local: is required for executor local");
        }
        if (!spec.isProcess() && javaAgents.find(spec.javaAgent()).isEmpty()) {
            return List.of(
                    "spec.local: no in-JVM agent named '"
                            + spec.javaAgent()
                            + "' is on the class path");
        }
        return List.of();
    }

    @Override
    public ExecutionResult execute(ExecutionRequest request) throws InterruptedException {
        LocalSpec spec = request.agent().local();
        if (spec.isProcess()) {
            return processes.run(request, spec);
        }
        var agent = javaAgents.find(spec.javaAgent());
        if (agent.isEmpty()) {
            return ExecutionResult.failure(
                    ExecutionError.EXECUTOR_UNAVAILABLE,
                    "no in-JVM agent named '"
                            + spec.javaAgent()
                            + "' is on this node's class path");
        }
        return runInJvm(agent.get(), request);
    }

    /**
     * Runs the agent on the calling thread, the worker slot that claimed the task: handing it to
     * another thread and waiting cost two thread wake-ups per run, more than a short agent itself.
     * A timeout interrupts this thread; an agent that ignores the interrupt keeps its slot until it
     * returns and still fails with TIMEOUT.
     */
    private ExecutionResult runInJvm(JavaAgent agent, ExecutionRequest request)
            throws InterruptedException {
        AgentTimeouts.Watch watch = timeouts.start(request.timeout());
        JsonNode output;
        try {
            output = agent.run(request.input());
        } catch (
                Throwable
                        e) { // the agent boundary: whatever it throws fails the attempt, never the
            // slot
            if (watch.stop()) {
                return timedOut(request);
            }
            if (e instanceof InterruptedException interrupted) {
                throw interrupted; // not our timeout: the attempt is being stopped (cancel,
                // shutdown)
            }
            String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            return ExecutionResult.failure(ExecutionError.AGENT_ERROR, message);
        }
        return watch.stop() ? timedOut(request) : ExecutionResult.success(output, null);
    }

    private static ExecutionResult timedOut(ExecutionRequest request) {
        return ExecutionResult.failure(
                ExecutionError.TIMEOUT,
                "the agent did not finish within "
                        + request.timeout().toMillis()
                        + " ms and was interrupted");
    }

    @Override
    public void close() {
        processIo.shutdownNow();
        timeouts.close();
    }
}
