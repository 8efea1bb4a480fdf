package dev.pulse.executors.kubernetes;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.Executor;
import dev.pulse.executors.ExecutorContract;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.KubernetesSpec;
import dev.pulse.executors.standins.KubernetesApiStandIn;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kubernetes executor through the executor contract, against a stand-in for an API server
 * (fabric8's mock server in CRUD mode, with a loop standing in for the job controller and the
 * kubelet: {@link KubernetesApiStandIn}). The executor reaches it through a kubeconfig file named
 * by {@code KUBECONFIG}, as on a node outside the cluster.
 */
class KubernetesContractTest extends ExecutorContract
        implements ExecutorContract.ReadsTextOutput,
                ExecutorContract.ResolvesSecrets,
                ExecutorContract.NeedsNodePrerequisite {

    static final String NAMESPACE = "agents";
    static final String SECRET = "agent-secrets";
    static final String IMAGE = "ghcr.io/acme/contract-agent:1";

    @TempDir Path dir;

    @Override
    protected Fixture start(Function<String, String> environment) throws Exception {
        KubernetesApiStandIn cluster = new KubernetesApiStandIn();
        cluster.client()
                .secrets()
                .inNamespace(NAMESPACE)
                .resource(
                        new SecretBuilder()
                                .withNewMetadata()
                                .withName(SECRET)
                                .endMetadata()
                                .addToStringData(
                                        SECRET_VARIABLE, environment.apply(SECRET_VARIABLE))
                                .build())
                .create();
        Path kubeconfig = kubeconfig(dir, cluster.url());
        KubernetesExecutor executor =
                new KubernetesExecutor(
                        JSON,
                        name ->
                                name.equals("KUBECONFIG")
                                        ? kubeconfig.toString()
                                        : environment.apply(name));
        KubernetesClient watcher = cluster.newClient();
        return new Fixture() {
            @Override
            public Executor executor() {
                return executor;
            }

            @Override
            public Success succeeding(JsonNode output) {
                return new Success(request(List.of("echo-input"), Map.of(), output, AMPLE), output);
            }

            @Override
            public ExecutionRequest failing(String words) {
                return request(List.of("fail", words), Map.of(), JSON.createObjectNode(), AMPLE);
            }

            @Override
            public ExecutionRequest malformed() {
                return request(
                        List.of("print", "done, no JSON from me"),
                        Map.of(),
                        JSON.createObjectNode(),
                        AMPLE);
            }

            @Override
            public ExecutionRequest leakingSecret() {
                return request(
                        List.of("leak", "TOKEN"),
                        Map.of("TOKEN", "${env:" + SECRET_VARIABLE + "}"),
                        JSON.createObjectNode(),
                        AMPLE);
            }

            @Override
            public Hanging hanging(Duration timeout) {
                ExecutionRequest request =
                        request(List.of("hang"), Map.of(), JSON.createObjectNode(), timeout);
                String task = request.taskId().toString();
                return new Hanging(
                        request,
                        new Probe() {
                            @Override
                            public boolean awaitStarted(Duration limit) throws Exception {
                                return await(
                                        limit,
                                        () ->
                                                pods(task).stream()
                                                        .anyMatch(
                                                                p ->
                                                                        "Running"
                                                                                .equals(
                                                                                        p.getStatus()
                                                                                                .getPhase())));
                            }

                            @Override
                            public boolean awaitGone(Duration limit) throws Exception {
                                return await(
                                        limit,
                                        () ->
                                                pods(task).isEmpty()
                                                        && watcher.batch()
                                                                .v1()
                                                                .jobs()
                                                                .inNamespace(NAMESPACE)
                                                                .withLabel(
                                                                        JobManifest.TASK_LABEL,
                                                                        task)
                                                                .list()
                                                                .getItems()
                                                                .isEmpty());
                            }
                        });
            }

            private List<io.fabric8.kubernetes.api.model.Pod> pods(String task) {
                return watcher.pods()
                        .inNamespace(NAMESPACE)
                        .withLabel(JobManifest.TASK_LABEL, task)
                        .list()
                        .getItems();
            }

            @Override
            public Missing missingAgentPrerequisite() {
                String image = "ghcr.io/acme/no-such-image:" + UUID.randomUUID();
                KubernetesSpec spec =
                        new KubernetesSpec(
                                image,
                                List.of("print", "{}"),
                                Map.of(),
                                null,
                                NAMESPACE,
                                null,
                                KubernetesSpec.Pod.DEFAULT,
                                false);
                return new Missing(
                        ExecutorContract.request(agent(spec), JSON.createObjectNode(), AMPLE),
                        image);
            }

            @Override
            public void close() {
                executor.close();
                watcher.close();
                cluster.close();
            }
        };
    }

    @Override
    public Unavailable withoutNodePrerequisite(Function<String, String> environment)
            throws Exception {
        Path nowhere = kubeconfig(dir, "http://127.0.0.1:1");
        return new Unavailable(
                new KubernetesExecutor(
                        JSON,
                        name ->
                                name.equals("KUBECONFIG")
                                        ? nowhere.toString()
                                        : environment.apply(name)),
                "KUBECONFIG");
    }

    /** A kubeconfig file with one context, {@code stand-in}, for the API server at {@code url}. */
    static Path kubeconfig(Path dir, String url) throws Exception {
        Path file = Files.createTempFile(dir, "kubeconfig", ".yaml");
        Files.writeString(
                file,
                """
                apiVersion: v1
                kind: Config
                clusters:
                - name: stand-in
                  cluster:
                    server: %s
                users:
                - name: pulse
                  user:
                    token: not-checked-by-the-stand-in
                contexts:
                - name: stand-in
                  context:
                    cluster: stand-in
                    user: pulse
                    namespace: default
                current-context: stand-in
                """
                        .formatted(url));
        return file;
    }

    static ExecutionRequest request(
            List<String> command, Map<String, String> env, JsonNode input, Duration timeout) {
        KubernetesSpec spec =
                new KubernetesSpec(
                        IMAGE,
                        command,
                        env,
                        SECRET,
                        NAMESPACE,
                        null,
                        KubernetesSpec.Pod.DEFAULT,
                        false);
        return ExecutorContract.request(agent(spec), input, timeout);
    }

    static AgentDefinition agent(KubernetesSpec spec) {
        return new AgentDefinition(
                "k",
                KubernetesExecutor.KIND,
                AMPLE,
                1,
                null,
                AgentDefinition.DEFAULT_RETRY_BASE,
                AgentDefinition.DEFAULT_RETRY_MAX,
                null,
                "contract",
                null,
                null,
                null,
                spec,
                null,
                null);
    }
}
