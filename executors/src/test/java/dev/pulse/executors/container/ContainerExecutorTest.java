package dev.pulse.executors.container;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import dev.pulse.executors.ExecutionError;
import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.ExecutionResult;
import dev.pulse.executors.TraceContext;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.ContainerSpec;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Against a real Docker-API engine: on this machine rootful podman started by
 * scripts/container-engine.sh (which .ci/run calls), with a busybox image it builds locally.
 */
class ContainerExecutorTest {

    static final String IMAGE = "localhost/pulse-test-busybox:1";
    private static final ObjectMapper json = new ObjectMapper();
    private static ContainerExecutor executor;

    /** Why the engine cannot be used, or null when it can. */
    private static String skipReason;

    @BeforeAll
    static void engine() {
        Map<String, String> env = new HashMap<>(System.getenv());
        env.put("GREETING_SECRET", "s3cr3t-value-42");
        executor = new ContainerExecutor(json, env::get);
        if (!executor.availability().available()) {
            skipReason =
                    "!!! SKIPPED: no Docker-API engine ("
                            + executor.availability().reason()
                            + "); run eval \"$(scripts/container-engine.sh)\" as .ci/run does";
            System.err.println(skipReason);
        }
    }

    /**
     * Each test is skipped on its own (not the class from {@code @BeforeAll}), so that Maven counts
     * and reports them as skipped, with the reason, instead of "Tests run: 0".
     */
    @BeforeEach
    void engineAvailable() {
        assumeTrue(skipReason == null, skipReason);
    }

    @AfterAll
    static void close() throws Exception {
        if (executor != null) {
            executor.close();
        }
    }

    @Test
    void theInputArrivesOnStdinAndInTheEnvironmentAndTheLastJsonLineIsTheResult() throws Exception {
        ExecutionResult fromStdin =
                run(
                        spec(List.of("cat"), Map.of(), false),
                        "{\"a\": [1, 2]}",
                        Duration.ofSeconds(120));
        assertThat(fromStdin.succeeded()).as("%s", fromStdin).isTrue();
        assertThat(fromStdin.output()).isEqualTo(json.readTree("{\"a\": [1, 2]}"));

        ExecutionResult fromEnv =
                run(
                        spec(
                                List.of(
                                        "sh",
                                        "-c",
                                        "echo working >&2; echo 'not json'; echo \"$PULSE_INPUT\""),
                                Map.of(),
                                false),
                        "{\"b\": true}",
                        Duration.ofSeconds(120));
        assertThat(fromEnv.output()).isEqualTo(json.readTree("{\"b\": true}"));
        assertThat(fromEnv.logs()).contains("working");
    }

    @Test
    void theAttemptsTraceContextIsInTheEnvironment() throws Exception {
        String traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        ExecutionResult result =
                executor.execute(
                        request(
                                        UUID.randomUUID(),
                                        spec(
                                                List.of(
                                                        "sh",
                                                        "-c",
                                                        "printf '{\"traceparent\": \"%s\"}' \"$TRACEPARENT\""),
                                                Map.of(),
                                                false),
                                        "{}",
                                        Duration.ofSeconds(120))
                                .withTrace(TraceContext.of(traceparent, null)));
        assertThat(result.succeeded()).as("%s", result).isTrue();
        assertThat(result.output().path("traceparent").asText()).isEqualTo(traceparent);
    }

    @Test
    void aFailingContainerFailsTheAttemptWithItsLogsAndSecretsRedacted() throws Exception {
        ExecutionResult result =
                run(
                        spec(
                                List.of("sh", "-c", "echo \"token is $TOKEN\" >&2; exit 3"),
                                Map.of("TOKEN", "${env:GREETING_SECRET}"),
                                false),
                        "{}",
                        Duration.ofSeconds(120));
        assertThat(result.error().code()).isEqualTo(ExecutionError.AGENT_ERROR);
        assertThat(result.error().message()).contains("code 3");
        assertThat(result.logs()).contains("token is [redacted]").doesNotContain("s3cr3t-value-42");
    }

    @Test
    void theNetworkIsOffUnlessAskedFor() throws Exception {
        ExecutionResult off =
                run(
                        spec(
                                List.of(
                                        "sh",
                                        "-c",
                                        "echo \"{\\\"ifaces\\\": \\\"$(ls /sys/class/net | tr '\\n' ' ')\\\"}\""),
                                Map.of(),
                                false),
                        "{}",
                        Duration.ofSeconds(120));
        assertThat(off.output().path("ifaces").asText().trim()).as("%s", off).isEqualTo("lo");
    }

    @Test
    void theMemoryLimitHolds() throws Exception {
        ExecutionResult result =
                run(
                        spec(
                                List.of(
                                        "sh",
                                        "-c",
                                        "a=$(head -c 300000000 /dev/zero | tr '\\000' x); echo '{}'"),
                                Map.of(),
                                false),
                        "{}",
                        Duration.ofSeconds(60));
        assertThat(result.succeeded())
                .as("a 300 MB string in a 64 MB container: %s", result)
                .isFalse();
        assertThat(result.error().message()).contains("137");
    }

    @Test
    void aTimeoutKillsAndRemovesTheContainer() throws Exception {
        // The container sleeps an hour, so ending in a fraction of that (however busy the machine)
        // means it was killed.
        long start = System.nanoTime();
        ExecutionResult result =
                run(spec(List.of("sleep", "3600"), Map.of(), false), "{}", Duration.ofMillis(1500));
        assertThat(result.error().code()).isEqualTo(ExecutionError.TIMEOUT);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMinutes(5));
    }

    /**
     * A node shutting down interrupts its running attempts, which then go back to the queue: the
     * executor must throw the interrupt (after killing and removing the container), not report a
     * timeout, which would fail the attempt.
     */
    @Test
    void anInterruptKillsAndRemovesTheContainerAndIsThrownNotReportedAsATimeout() throws Exception {
        UUID taskId = UUID.randomUUID();
        ExecutorService caller = Executors.newSingleThreadExecutor();
        Future<Object> run =
                caller.submit(
                        () -> {
                            try {
                                return executor.execute(
                                        request(
                                                taskId,
                                                spec(List.of("sleep", "60"), Map.of(), false),
                                                "{}",
                                                Duration.ofSeconds(90)));
                            } catch (InterruptedException e) {
                                return e;
                            }
                        });
        try (DockerClient docker = watchingClient()) {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (containersOf(docker, taskId, "running").isEmpty()) {
                assertThat(System.nanoTime()).as("the container never ran").isLessThan(deadline);
                assertThat(run.isDone())
                        .as("ended before the interrupt: %s", run.isDone() ? run.get() : null)
                        .isFalse();
                Thread.sleep(20);
            }

            caller.shutdownNow(); // interrupts the attempt's thread, as a node's shutdown does
            assertThat(run.get(60, TimeUnit.SECONDS)).isInstanceOf(InterruptedException.class);
            while (!containersOf(docker, taskId, null).isEmpty()) {
                assertThat(System.nanoTime())
                        .as("the container was never removed")
                        .isLessThan(deadline + Duration.ofSeconds(60).toNanos());
                Thread.sleep(50);
            }
        }
    }

    /** A client of its own on the same engine, to watch the executor's containers. */
    private static DockerClient watchingClient() {
        String host = System.getenv().getOrDefault("DOCKER_HOST", "unix:///var/run/docker.sock");
        DefaultDockerClientConfig config =
                DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(host).build();
        return DockerClientImpl.getInstance(
                config,
                new ZerodepDockerHttpClient.Builder().dockerHost(config.getDockerHost()).build());
    }

    /** The containers the executor made for the task, in the given state (or any state). */
    private static List<Container> containersOf(DockerClient docker, UUID taskId, String state) {
        var list =
                docker.listContainersCmd()
                        .withShowAll(true)
                        .withLabelFilter(Map.of("dev.pulse.task", taskId.toString()));
        if (state != null) {
            list.withStatusFilter(List.of(state));
        }
        return list.exec();
    }

    private static ContainerSpec spec(
            List<String> command, Map<String, String> env, boolean network) {
        return new ContainerSpec(IMAGE, command, env, 64L << 20, 0.5, 64, network);
    }

    private static ExecutionResult run(ContainerSpec spec, String input, Duration timeout)
            throws Exception {
        return executor.execute(request(UUID.randomUUID(), spec, input, timeout));
    }

    private static ExecutionRequest request(
            UUID taskId, ContainerSpec spec, String input, Duration timeout) throws Exception {
        AgentDefinition agent =
                new AgentDefinition(
                        "c",
                        ContainerExecutor.KIND,
                        timeout,
                        1,
                        null,
                        AgentDefinition.DEFAULT_RETRY_BASE,
                        AgentDefinition.DEFAULT_RETRY_MAX,
                        null,
                        "test",
                        null,
                        null,
                        spec,
                        null);
        return new ExecutionRequest(
                taskId, 1, UUID.randomUUID(), agent, json.readTree(input), timeout);
    }
}
