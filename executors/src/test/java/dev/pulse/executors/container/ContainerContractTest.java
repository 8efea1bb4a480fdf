package dev.pulse.executors.container;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.ListContainersCmd;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import dev.pulse.executors.Availability;
import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.Executor;
import dev.pulse.executors.ExecutorContract;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.ContainerSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import org.junit.jupiter.api.io.TempDir;

/**
 * The container executor, against a real Docker-API engine (scripts/container-engine.sh, with its
 * busybox test image), through the executor contract. Without an engine every case that runs a
 * container is skipped, loudly; the unavailability case runs anyway.
 */
class ContainerContractTest extends ExecutorContract
        implements ExecutorContract.ReadsTextOutput,
                ExecutorContract.ResolvesSecrets,
                ExecutorContract.NeedsNodePrerequisite {

    @TempDir Path dir;

    @Override
    protected Fixture start(Function<String, String> environment) throws Exception {
        ContainerExecutor executor = new ContainerExecutor(JSON, environment);
        Availability engine = executor.availability();
        if (!engine.available()) {
            executor.close();
        }
        assumeTrue(
                engine.available(),
                () ->
                        "!!! SKIPPED: no Docker-API engine ("
                                + engine.reason()
                                + "); run eval \"$(scripts/container-engine.sh)\" as .ci/run does");
        DockerClient docker = client(environment.apply("DOCKER_HOST"));
        return new Fixture() {
            @Override
            public Executor executor() {
                return executor;
            }

            @Override
            public Success succeeding(JsonNode output) {
                return new Success(request(List.of("cat"), Map.of(), output, AMPLE), output);
            }

            @Override
            public ExecutionRequest failing(String words) {
                return request(
                        List.of("sh", "-c", "echo '" + words + "' >&2; exit 3"),
                        Map.of(),
                        JSON.createObjectNode(),
                        AMPLE);
            }

            @Override
            public ExecutionRequest malformed() {
                return request(
                        List.of("sh", "-c", "echo 'done, no JSON from me'"),
                        Map.of(),
                        JSON.createObjectNode(),
                        AMPLE);
            }

            @Override
            public Hanging hanging(Duration timeout) {
                ExecutionRequest request =
                        request(
                                List.of("sleep", Long.toString(HANGS_FOR.toSeconds())),
                                Map.of(),
                                JSON.createObjectNode(),
                                timeout);
                String task = request.taskId().toString();
                return new Hanging(
                        request,
                        new Probe() {
                            @Override
                            public boolean awaitStarted(Duration limit) throws Exception {
                                return await(
                                        limit,
                                        () ->
                                                !containers(task)
                                                        .withStatusFilter(List.of("running"))
                                                        .exec()
                                                        .isEmpty());
                            }

                            @Override
                            public boolean awaitGone(Duration limit) throws Exception {
                                return await(limit, () -> containers(task).exec().isEmpty());
                            }
                        });
            }

            @Override
            public ExecutionRequest leakingSecret() {
                return request(
                        List.of("sh", "-c", "echo \"login failed with token $TOKEN\" >&2; exit 1"),
                        Map.of("TOKEN", "${env:" + SECRET_VARIABLE + "}"),
                        JSON.createObjectNode(),
                        AMPLE);
            }

            @Override
            public Missing missingAgentPrerequisite() {
                String image = "localhost/pulse-contract-no-such-image:" + UUID.randomUUID();
                ContainerSpec spec =
                        new ContainerSpec(image, List.of(), Map.of(), 64L << 20, 0.5, 64, false);
                return new Missing(
                        ExecutorContract.request(agent(spec), JSON.createObjectNode(), AMPLE),
                        image);
            }

            private ListContainersCmd containers(String task) {
                return docker.listContainersCmd()
                        .withShowAll(true)
                        .withLabelFilter(Map.of("dev.pulse.task", task));
            }

            @Override
            public void close() throws Exception {
                executor.close();
                docker.close();
            }
        };
    }

    @Override
    public Unavailable withoutNodePrerequisite(Function<String, String> environment) {
        String nowhere = "unix://" + dir.resolve("no-engine.sock");
        return new Unavailable(
                new ContainerExecutor(
                        JSON,
                        name -> "DOCKER_HOST".equals(name) ? nowhere : environment.apply(name)),
                "DOCKER_HOST");
    }

    private static ExecutionRequest request(
            List<String> command, Map<String, String> env, JsonNode input, Duration timeout) {
        ContainerSpec spec =
                new ContainerSpec(
                        ContainerExecutorTest.IMAGE, command, env, 64L << 20, 0.5, 64, false);
        return ExecutorContract.request(agent(spec), input, timeout);
    }

    private static AgentDefinition agent(ContainerSpec spec) {
        return new AgentDefinition(
                "c",
                ContainerExecutor.KIND,
                AMPLE,
                1,
                null,
                AgentDefinition.DEFAULT_RETRY_BASE,
                AgentDefinition.DEFAULT_RETRY_MAX,
                null,
                "contract",
                null,
                null,
                spec,
                null,
                null,
                null);
    }

    /** A client of its own on the same engine, to watch the executor's containers. */
    private static DockerClient client(String host) {
        DefaultDockerClientConfig config =
                DefaultDockerClientConfig.createDefaultConfigBuilder()
                        .withDockerHost(host == null ? "unix:///var/run/docker.sock" : host)
                        .build();
        return DockerClientImpl.getInstance(
                config,
                new ZerodepDockerHttpClient.Builder().dockerHost(config.getDockerHost()).build());
    }
}
