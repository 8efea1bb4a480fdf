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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/** The {@code local} executor: a subprocess speaking JSON, or an in-JVM {@link JavaAgent}. */
public final class LocalExecutor implements Executor, AutoCloseable {

    public static final String KIND = "local";

    private final JavaAgents javaAgents;
    private final ProcessRunner processes;
    private final ExecutorService threads;

    public LocalExecutor(JavaAgents javaAgents, ObjectMapper json, Function<String, String> environment) {
        this.javaAgents = javaAgents;
        this.threads = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "pulse-local-agent");
            t.setDaemon(true);
            return t;
        });
        this.processes = new ProcessRunner(json, environment, threads);
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
            return List.of("spec.local: no in-JVM agent named '" + spec.javaAgent() + "' is on the class path");
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
            return ExecutionResult.failure(ExecutionError.EXECUTOR_UNAVAILABLE,
                    "no in-JVM agent named '" + spec.javaAgent() + "' is on this node's class path");
        }
        return runInJvm(agent.get(), request);
    }

    private ExecutionResult runInJvm(JavaAgent agent, ExecutionRequest request) throws InterruptedException {
        Future<JsonNode> run = threads.submit(() -> agent.run(request.input()));
        try {
            return ExecutionResult.success(run.get(request.timeout().toMillis(), TimeUnit.MILLISECONDS), null);
        } catch (TimeoutException e) {
            run.cancel(true);
            return ExecutionResult.failure(ExecutionError.TIMEOUT,
                    "the agent did not finish within " + request.timeout().toMillis() + " ms and was interrupted");
        } catch (InterruptedException e) {
            run.cancel(true);
            throw e;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            String message = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
            return ExecutionResult.failure(ExecutionError.AGENT_ERROR, message);
        }
    }

    @Override
    public void close() {
        threads.shutdownNow();
    }
}
