package dev.pulse.executors.kubernetes;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.pulse.executors.CompletionReports;
import dev.pulse.executors.ExecutionError;
import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.ExecutionResult;
import dev.pulse.executors.ExecutorContract;
import dev.pulse.executors.TraceContext;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.AgentFileLoader;
import dev.pulse.executors.agents.KubernetesSpec;
import dev.pulse.executors.standins.KubernetesApiStandIn;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the Job of an attempt holds (against the stand-in API server: {@link KubernetesApiStandIn}),
 * and the checks of {@code spec.kubernetes} that make an invalid agent a 422 naming the path.
 */
class KubernetesExecutorTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SECRET_VALUE = "tok-" + java.util.UUID.randomUUID();

    @TempDir static Path dir;
    private static KubernetesApiStandIn cluster;
    private static KubernetesExecutor executor;

    @BeforeAll
    static void start() throws Exception {
        cluster = new KubernetesApiStandIn();
        Path kubeconfig = KubernetesContractTest.kubeconfig(dir, cluster.url());
        Map<String, String> env =
                Map.of("KUBECONFIG", kubeconfig.toString(), "OPENAI_KEY", SECRET_VALUE);
        executor = new KubernetesExecutor(JSON, env::get);
    }

    @AfterAll
    static void stop() {
        executor.close();
        cluster.close();
    }

    private static final String TRACEPARENT =
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    @Test
    void eachAttemptIsAJobWithTheSpecsPodSettingsAndSecretsOnlyAsReferences() throws Exception {
        cluster.client()
                .secrets()
                .inNamespace("agents")
                .resource(
                        new io.fabric8.kubernetes.api.model.SecretBuilder()
                                .withNewMetadata()
                                .withName("llm-keys")
                                .endMetadata()
                                .addToStringData("OPENAI_KEY", SECRET_VALUE)
                                .build())
                .create();
        KubernetesSpec spec =
                new KubernetesSpec(
                        KubernetesContractTest.IMAGE,
                        List.of("echo-input"),
                        Map.of("MODEL", "gpt-5", "API_KEY", "${env:OPENAI_KEY}"),
                        "llm-keys",
                        "agents",
                        null,
                        new KubernetesSpec.Pod(
                                "agent-runner",
                                Map.of("pool", "agents"),
                                List.of(
                                        Map.of(
                                                "key", "dedicated",
                                                "operator", "Equal",
                                                "value", "agents",
                                                "effect", "NoSchedule")),
                                Map.of("cpu", "250m", "memory", "128Mi"),
                                Map.of("cpu", "1", "memory", "512Mi")),
                        false);
        JsonNode input = JSON.readTree("{\"q\": \"hello\"}");
        ExecutionRequest request =
                ExecutorContract.request(
                                KubernetesContractTest.agent(spec), input, Duration.ofSeconds(90))
                        .withTrace(TraceContext.of(TRACEPARENT, "vendor=k8s"));

        ExecutionResult result = executor.execute(request);

        assertThat(result.succeeded()).as("%s", result).isTrue();
        assertThat(result.output()).isEqualTo(input);
        Job job = job(request);
        assertThat(job.getMetadata().getNamespace()).isEqualTo("agents");
        assertThat(job.getMetadata().getLabels())
                .containsEntry(JobManifest.ATTEMPT_LABEL, "1")
                .containsEntry("app.kubernetes.io/managed-by", "pulse");
        assertThat(job.getSpec().getBackoffLimit()).isZero();
        assertThat(job.getSpec().getActiveDeadlineSeconds()).isEqualTo(90L);
        PodSpec pod = job.getSpec().getTemplate().getSpec();
        assertThat(pod.getRestartPolicy()).isEqualTo("Never");
        assertThat(pod.getServiceAccountName()).isEqualTo("agent-runner");
        assertThat(pod.getNodeSelector()).containsEntry("pool", "agents");
        assertThat(pod.getTolerations()).hasSize(1);
        assertThat(pod.getTolerations().get(0).getEffect()).isEqualTo("NoSchedule");
        Container container = pod.getContainers().get(0);
        assertThat(container.getImage()).isEqualTo(KubernetesContractTest.IMAGE);
        assertThat(container.getResources().getLimits().get("memory").toString())
                .isEqualTo("512Mi");
        assertThat(container.getResources().getRequests().get("cpu").toString()).isEqualTo("250m");
        EnvVar key = env(container, "API_KEY");
        assertThat(key.getValue()).isNull();
        assertThat(key.getValueFrom().getSecretKeyRef().getName()).isEqualTo("llm-keys");
        assertThat(key.getValueFrom().getSecretKeyRef().getKey()).isEqualTo("OPENAI_KEY");
        assertThat(env(container, "MODEL").getValue()).isEqualTo("gpt-5");
        assertThat(JSON.readTree(env(container, "PULSE_INPUT").getValue())).isEqualTo(input);
        assertThat(env(container, "PULSE_TASK_ID").getValue())
                .isEqualTo(request.taskId().toString());
        assertThat(env(container, "TRACEPARENT").getValue()).isEqualTo(TRACEPARENT);
        assertThat(env(container, "TRACESTATE").getValue()).isEqualTo("vendor=k8s");
        assertThat(JSON.writeValueAsString(job)).doesNotContain(SECRET_VALUE);
        assertThat(
                        cluster.client()
                                .batch()
                                .v1()
                                .jobs()
                                .inNamespace("agents")
                                .withName(job.getMetadata().getName())
                                .get())
                .as("the finished Job was deleted")
                .isNull();
    }

    /**
     * {@code report: true}: the Job gets the complete URL and its lease token, and what the agent
     * reports there is the attempt's outcome; a Job that ends without reporting falls back to its
     * log. The stand-in for the node's AgentReports says "reported" once the task's pod has run.
     */
    @Test
    void anAgentThatReportsToTheCompleteUrlGetsItAndItsReportIsTheOutcome() throws Exception {
        java.util.concurrent.atomic.AtomicBoolean reporting =
                new java.util.concurrent.atomic.AtomicBoolean(true);
        CompletionReports reports =
                new CompletionReports() {
                    @Override
                    public java.util.Optional<java.net.URI> url(java.util.UUID taskId) {
                        return java.util.Optional.of(
                                java.net.URI.create(
                                        "http://pulse.example:8080/v1/tasks/"
                                                + taskId
                                                + "/complete"));
                    }

                    @Override
                    public java.util.Optional<String> await(
                            java.util.UUID taskId, java.util.UUID leaseToken, Duration timeout)
                            throws InterruptedException {
                        boolean ran =
                                !cluster.client()
                                        .pods()
                                        .inNamespace("agents")
                                        .withLabel(JobManifest.TASK_LABEL, taskId.toString())
                                        .list()
                                        .getItems()
                                        .isEmpty();
                        if (reporting.get() && ran) {
                            return java.util.Optional.of("succeeded");
                        }
                        Thread.sleep(timeout.toMillis());
                        return java.util.Optional.empty();
                    }
                };
        Path kubeconfig = KubernetesContractTest.kubeconfig(dir, cluster.url());
        try (KubernetesExecutor reporter =
                new KubernetesExecutor(
                        JSON, Map.of("KUBECONFIG", kubeconfig.toString())::get, reports)) {
            KubernetesSpec spec =
                    new KubernetesSpec(
                            KubernetesContractTest.IMAGE,
                            List.of("echo-input"),
                            Map.of(),
                            null,
                            "agents",
                            null,
                            KubernetesSpec.Pod.DEFAULT,
                            true);
            JsonNode input = JSON.readTree("{\"from\": \"the log\"}");
            ExecutionRequest request =
                    ExecutorContract.request(
                            KubernetesContractTest.agent(spec), input, Duration.ofSeconds(90));

            ExecutionResult result = reporter.execute(request);

            assertThat(result.succeeded()).as("%s", result).isTrue();
            assertThat(result.alreadyRecorded()).as("the report is the outcome").isTrue();
            Container container =
                    job(request).getSpec().getTemplate().getSpec().getContainers().get(0);
            assertThat(env(container, "PULSE_COMPLETE_URL").getValue())
                    .isEqualTo(
                            "http://pulse.example:8080/v1/tasks/" + request.taskId() + "/complete");
            assertThat(env(container, "PULSE_LEASE_TOKEN").getValue())
                    .isEqualTo(request.leaseToken().toString());

            reporting.set(false);
            ExecutionRequest unreported =
                    ExecutorContract.request(
                            KubernetesContractTest.agent(spec), input, Duration.ofSeconds(90));
            ExecutionResult fromLog = reporter.execute(unreported);
            assertThat(fromLog.succeeded()).as("%s", fromLog).isTrue();
            assertThat(fromLog.alreadyRecorded()).isFalse();
            assertThat(fromLog.output()).isEqualTo(input);
        }
    }

    @Test
    void aSecretMissingFromTheClusterIsExecutorUnavailableNamingIt() throws Exception {
        KubernetesSpec spec =
                new KubernetesSpec(
                        KubernetesContractTest.IMAGE,
                        List.of("echo-input"),
                        Map.of("API_KEY", "${env:OPENAI_KEY}"),
                        "nobody-made-this",
                        "agents",
                        null,
                        KubernetesSpec.Pod.DEFAULT,
                        false);

        ExecutionResult result =
                executor.execute(
                        ExecutorContract.request(
                                KubernetesContractTest.agent(spec),
                                JSON.createObjectNode(),
                                Duration.ofSeconds(60)));

        assertThat(result.error()).as("%s", result).isNotNull();
        assertThat(result.error().code()).isEqualTo(ExecutionError.EXECUTOR_UNAVAILABLE);
        assertThat(result.error().message()).contains("nobody-made-this");
    }

    @Test
    void anAgentFileWithAKubernetesBlockIsReadAndEveryBadValueIsNamedByItsPath() throws Exception {
        List<String> goodShape = new ArrayList<>();
        AgentDefinition good =
                parse(
                        """
                        apiVersion: pulse/v1
                        kind: Agent
                        metadata: {name: summarise}
                        spec:
                          executor: kubernetes
                          timeout: 10m
                          kubernetes:
                            image: ghcr.io/acme/summarise:1.4
                            command: [python3, agent.py]
                            namespace: agents
                            secret: llm-keys
                            env: {API_KEY: "${env:OPENAI_KEY}", MODEL: gpt-5}
                            service_account: agent-runner
                            node_selector: {pool: agents}
                            tolerations:
                              - {key: dedicated, operator: Equal, value: agents, effect: NoSchedule}
                            resources:
                              requests: {cpu: 250m, memory: 128Mi}
                              limits: {cpu: 1, memory: 512Mi}
                        """,
                        goodShape);
        assertThat(goodShape).isEmpty();
        assertThat(executor.validate(good)).isEmpty();
        assertThat(good.kubernetes().pod().limits()).containsEntry("cpu", "1");

        AgentDefinition bad =
                parse(
                        """
                        apiVersion: pulse/v1
                        kind: Agent
                        metadata: {name: broken}
                        spec:
                          executor: kubernetes
                          kubernetes:
                            image: "Not An Image"
                            namespace: Agents_NS
                            env: {API_KEY: "Bearer ${env:OPENAI_KEY}", TOKEN: "${env:T}"}
                            tolerations: [{operator: Sometimes}]
                            resources: {limits: {memory: lots}}
                        """,
                        new ArrayList<>());
        assertThat(String.join("\n", executor.validate(bad)))
                .contains("spec.kubernetes.image:")
                .contains("spec.kubernetes.namespace:")
                .contains("spec.kubernetes.env.API_KEY:")
                .contains("spec.kubernetes.secret:")
                .contains("spec.kubernetes.tolerations[0].operator:")
                .contains("spec.kubernetes.resources.limits.memory:");

        AgentDefinition noImage =
                parse(
                        """
                        apiVersion: pulse/v1
                        kind: Agent
                        metadata: {name: no-image}
                        spec:
                          executor: kubernetes
                          kubernetes: {command: [run]}
                        """,
                        new ArrayList<>());
        assertThat(executor.validate(noImage))
                .containsExactly(
                        "spec.kubernetes.image: is required (an image reference such as ghcr.io/acme/agent:1.2)");

        List<String> shape = new ArrayList<>();
        parse(
                """
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: shape}
                spec:
                  executor: kubernetes
                  kubernetes: {image: a/b, command: run, replicas: 3, resources: {max: {cpu: 1}}}
                """,
                shape);
        assertThat(String.join("\n", shape))
                .contains("spec.kubernetes.command:")
                .contains("spec.kubernetes.replicas: unknown field")
                .contains("spec.kubernetes.resources.max: unknown field");
    }

    private static AgentDefinition parse(String yaml, List<String> problems) throws Exception {
        AgentDefinition agent =
                new AgentFileLoader()
                        .parseDocument(new YAMLMapper().readTree(yaml), dir, "test", problems);
        return agent;
    }

    private static Job job(ExecutionRequest request) {
        return cluster.createdJobs().stream()
                .filter(
                        j ->
                                request.taskId()
                                        .toString()
                                        .equals(
                                                j.getMetadata()
                                                        .getLabels()
                                                        .get(JobManifest.TASK_LABEL)))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no Job of task " + request.taskId()));
    }

    private static EnvVar env(Container container, String name) {
        return container.getEnv().stream()
                .filter(e -> e.getName().equals(name))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no " + name + " in " + container.getEnv()));
    }
}
