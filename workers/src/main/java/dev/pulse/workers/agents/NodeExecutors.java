package dev.pulse.workers.agents;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.CompletionReports;
import dev.pulse.executors.ExecutorFactory;
import dev.pulse.executors.container.ContainerExecutor;
import dev.pulse.executors.kubernetes.KubernetesExecutor;
import dev.pulse.executors.llm.LlmExecutor;
import dev.pulse.executors.local.JavaAgents;
import dev.pulse.executors.local.LocalExecutor;
import dev.pulse.executors.remote.RemoteExecutor;
import dev.pulse.executors.serverless.ServerlessExecutor;
import java.io.IOException;
import java.util.List;
import java.util.function.Function;
import okhttp3.OkHttpClient;

/**
 * Every executor a node has (local, serverless, llm, container, kubernetes, and remote: agents run
 * by workers outside Pulse), for the server and the commands that validate agents.
 */
public final class NodeExecutors implements AutoCloseable {

    private final LocalExecutor local;
    private final ServerlessExecutor serverless;
    private final LlmExecutor llm;
    private final ContainerExecutor container;
    private final KubernetesExecutor kubernetes;
    private final ExecutorFactory factory;

    /**
     * The executors of a command that only validates agents: asynchronous agents can't report to
     * it.
     */
    public NodeExecutors(
            JavaAgents javaAgents,
            OkHttpClient http,
            ObjectMapper json,
            Function<String, String> environment) {
        this(javaAgents, http, json, environment, CompletionReports.NONE);
    }

    public NodeExecutors(
            JavaAgents javaAgents,
            OkHttpClient http,
            ObjectMapper json,
            Function<String, String> environment,
            CompletionReports reports) {
        this.local = new LocalExecutor(javaAgents, json, environment);
        this.serverless = new ServerlessExecutor(http, json, environment, reports);
        this.llm = new LlmExecutor(http, json, environment);
        this.container = new ContainerExecutor(json, environment);
        // no connection is made until an agent runs on it or asks whether it is available
        this.kubernetes = new KubernetesExecutor(json, environment, reports);
        this.factory =
                new ExecutorFactory(
                        List.of(
                                local,
                                serverless,
                                llm,
                                container,
                                kubernetes,
                                new RemoteExecutor()));
    }

    public ExecutorFactory factory() {
        return factory;
    }

    @Override
    public void close() {
        local.close();
        serverless.close();
        llm.close();
        kubernetes.close();
        try {
            container.close();
        } catch (IOException e) {
            // the engine connection is going away with the node anyway
        }
    }
}
