package dev.pulse.executors.container;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.CreateContainerResponse;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.StreamType;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import dev.pulse.executors.Availability;
import dev.pulse.executors.EnvReferences;
import dev.pulse.executors.ExecutionError;
import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.ExecutionResult;
import dev.pulse.executors.Executor;
import dev.pulse.executors.LastJsonLine;
import dev.pulse.executors.Redactor;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.ContainerSpec;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The {@code container} executor: runs an image through the Docker Engine API ({@code DOCKER_HOST},
 * e.g. podman's compatible socket). The input arrives on stdin and in {@code PULSE_INPUT}; the
 * result is the last line of stdout that is JSON; stderr (and the rest of stdout) are kept as logs.
 * Memory, CPU and process limits apply, the network is off unless the agent asks for it, a timeout
 * or an interrupt kills the container, and the container is always removed.
 */
public final class ContainerExecutor implements Executor, AutoCloseable {

    public static final String KIND = "container";
    private static final int MAX_LOG_CHARS = 64 << 10;

    private final ObjectMapper json;
    private final Function<String, String> environment;
    private final DockerClient docker;
    private final String host;

    public ContainerExecutor(ObjectMapper json, Function<String, String> environment) {
        this.json = json;
        this.environment = environment;
        String configured = environment.apply("DOCKER_HOST");
        this.host =
                configured == null || configured.isBlank()
                        ? "unix:///var/run/docker.sock"
                        : configured;
        DefaultDockerClientConfig config =
                DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(host).build();
        this.docker =
                DockerClientImpl.getInstance(
                        config,
                        new ZerodepDockerHttpClient.Builder()
                                .dockerHost(config.getDockerHost())
                                .connectionTimeout(Duration.ofSeconds(3))
                                .responseTimeout(Duration.ofMinutes(10))
                                .build());
    }

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public Availability availability() {
        try {
            docker.pingCmd().exec();
            return Availability.AVAILABLE;
        } catch (RuntimeException e) {
            return Availability.unavailable(
                    "no Docker-API engine answers at "
                            + host
                            + " (set DOCKER_HOST, or run scripts/container-engine.sh)");
        }
    }

    @Override
    public List<String> validate(AgentDefinition agent) {
        return agent.container() == null
                ? List.of("spec.container: is required for executor container")
                : List.of();
    }

    @Override
    public ExecutionResult execute(ExecutionRequest request) throws InterruptedException {
        ContainerSpec spec = request.agent().container();
        EnvReferences.Resolver resolver = new EnvReferences.Resolver(environment);
        List<String> variables = new ArrayList<>();
        try {
            spec.env()
                    .forEach(
                            (k, v) ->
                                    variables.add(
                                            k
                                                    + "="
                                                    + resolver.resolve(
                                                            v, "spec.container.env." + k)));
        } catch (IllegalStateException e) {
            return ExecutionResult.failure(ExecutionError.EXECUTOR_UNAVAILABLE, e.getMessage());
        }
        Redactor env = Redactor.of(resolver.substituted());
        String input = write(request.input());
        variables.add("PULSE_INPUT=" + input);
        variables.add("PULSE_TASK_ID=" + request.taskId());
        variables.add("PULSE_ATTEMPT=" + request.attempt());
        request.trace().asEnvironment().forEach((name, value) -> variables.add(name + "=" + value));
        HostConfig limits =
                HostConfig.newHostConfig()
                        .withMemory(spec.memoryBytes())
                        .withMemorySwap(spec.memoryBytes())
                        .withNanoCPUs((long) (spec.cpus() * 1_000_000_000L))
                        .withPidsLimit(spec.pids())
                        .withNetworkMode(spec.network() ? "bridge" : "none");
        String id;
        try {
            var create =
                    docker.createContainerCmd(spec.image())
                            .withEnv(variables)
                            .withHostConfig(limits)
                            .withStdinOpen(true)
                            .withStdInOnce(true)
                            .withAttachStdin(true)
                            .withAttachStdout(true)
                            .withAttachStderr(true)
                            .withLabels(Map.of("dev.pulse.task", request.taskId().toString()));
            if (!spec.command().isEmpty()) {
                create.withCmd(spec.command());
            }
            CreateContainerResponse created = create.exec();
            id = created.getId();
        } catch (RuntimeException e) {
            if (cutShortByInterrupt(e)) {
                // the engine may have made the container before the call was cut short: find it by
                // its label
                removeContainersOf(request);
                throw new InterruptedException(
                        "stopped while creating the container: " + e.getMessage());
            }
            return ExecutionResult.failure(
                    ExecutionError.EXECUTOR_UNAVAILABLE,
                    "cannot create a container of "
                            + spec.image()
                            + ": "
                            + e.getMessage()
                            + " (is the image present on the engine at "
                            + host
                            + "?)");
        }
        Output output = new Output();
        try {
            deliverInputAndStart(id, input);
            // awaitCompletion, not awaitStatusCode(timeout): that one reports an interrupt (the
            // node
            // shutting down) as the same exception as a timeout, and the attempt was failed as
            // timed
            // out instead of handed back to the queue.
            var wait = docker.waitContainerCmd(id).start();
            if (!wait.awaitCompletion(request.timeout().toMillis(), TimeUnit.MILLISECONDS)) {
                killQuietly(id);
                collectLogs(id, output);
                return ExecutionResult.failure(
                        new ExecutionError(
                                ExecutionError.TIMEOUT,
                                "the container did not finish within "
                                        + request.timeout().toMillis()
                                        + " ms and was killed"),
                        env.scrub(output.logs()));
            }
            int status = wait.awaitStatusCode();
            collectLogs(id, output);
            String logs = env.scrub(output.logs());
            if (status != 0) {
                return ExecutionResult.failure(
                        new ExecutionError(
                                ExecutionError.AGENT_ERROR,
                                "the container exited with code "
                                        + status
                                        + (status == 137
                                                ? " (killed: out of memory, or over its limits?)"
                                                : "")),
                        logs);
            }
            return result(output.stdout(), logs);
        } catch (InterruptedException e) {
            killQuietly(id);
            throw e;
        } catch (RuntimeException e) {
            if (cutShortByInterrupt(e)) {
                // a call to the engine cut short by the interrupt: the attempt is being stopped,
                // not failed
                killQuietly(id);
                throw new InterruptedException("stopped while " + e.getMessage());
            }
            return ExecutionResult.failure(
                    ExecutionError.EXECUTOR_UNAVAILABLE,
                    "the container engine failed: " + e.getMessage());
        } finally {
            removeQuietly(id);
        }
    }

    /**
     * Writes the input to the container's stdin and then hangs up, which is how the process sees
     * end-of-input (engines differ in passing on a half-closed stream, but all see a hang-up).
     */
    private void deliverInputAndStart(String id, String input) throws InterruptedException {
        CountDownLatch written = new CountDownLatch(1);
        InputStream stdin =
                new FilterInputStream(
                        new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8))) {
                    @Override
                    public int read(byte[] b, int off, int len) throws IOException {
                        int n = super.read(b, off, len);
                        if (n < 0) {
                            written.countDown();
                        }
                        return n;
                    }
                };
        ResultCallback.Adapter<Frame> attach =
                docker.attachContainerCmd(id)
                        .withStdIn(stdin)
                        .withFollowStream(true)
                        .exec(new ResultCallback.Adapter<>());
        attach.awaitStarted(5, TimeUnit.SECONDS);
        docker.startContainerCmd(id).exec();
        written.await(5, TimeUnit.SECONDS);
        try {
            attach.close();
        } catch (IOException ignored) {
            // the hang-up is the point
        }
    }

    private void collectLogs(String id, Output output) throws InterruptedException {
        docker.logContainerCmd(id)
                .withStdOut(true)
                .withStdErr(true)
                .withFollowStream(false)
                .exec(output)
                .awaitCompletion(10, TimeUnit.SECONDS);
    }

    /** The last line of stdout that parses as JSON is the result. */
    private ExecutionResult result(String stdout, String logs) {
        return LastJsonLine.result(
                json,
                stdout,
                logs,
                "the container printed no JSON line on stdout; its last JSON line is its result");
    }

    /**
     * Whether an engine call failed because the calling thread was interrupted (the attempt is
     * being cancelled or handed back), not because the engine did. Clears the interrupt, so that
     * the clean-up calls that follow are not cut short too; the caller throws it on.
     */
    private static boolean cutShortByInterrupt(RuntimeException e) {
        boolean interrupted = Thread.interrupted();
        for (Throwable t = e;
                t != null && !interrupted;
                t = t.getCause() == t ? null : t.getCause()) {
            interrupted =
                    t instanceof InterruptedException
                            || (t instanceof InterruptedIOException
                                    && !(t instanceof SocketTimeoutException));
        }
        return interrupted;
    }

    private void removeContainersOf(ExecutionRequest request) {
        try {
            docker.listContainersCmd()
                    .withShowAll(true)
                    .withLabelFilter(Map.of("dev.pulse.task", request.taskId().toString()))
                    .exec()
                    .forEach(c -> removeQuietly(c.getId()));
        } catch (RuntimeException ignored) {
            // nothing to remove, or the engine is gone
        }
    }

    private void killQuietly(String id) {
        try {
            docker.killContainerCmd(id).exec();
        } catch (RuntimeException ignored) {
            // already gone
        }
    }

    private void removeQuietly(String id) {
        try {
            docker.removeContainerCmd(id).withForce(true).exec();
        } catch (RuntimeException ignored) {
            // already removed
        }
    }

    private String write(JsonNode node) {
        try {
            return json.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a JSON tree always serialises", e);
        }
    }

    @Override
    public void close() throws IOException {
        docker.close();
    }

    /** Collects the attached stdout and stderr. */
    private static final class Output extends ResultCallback.Adapter<Frame> {
        private final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        private final StringBuilder logs = new StringBuilder();

        @Override
        public void onNext(Frame frame) {
            synchronized (this) {
                if (frame.getStreamType() == StreamType.STDOUT
                        || frame.getStreamType() == StreamType.RAW) {
                    stdout.writeBytes(frame.getPayload());
                }
                if (logs.length() < MAX_LOG_CHARS) {
                    logs.append(new String(frame.getPayload(), StandardCharsets.UTF_8));
                }
            }
        }

        synchronized String stdout() {
            return stdout.toString(StandardCharsets.UTF_8);
        }

        synchronized String logs() {
            return logs.toString();
        }
    }
}
