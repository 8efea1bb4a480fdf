package dev.pulse.executors.local;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.EnvReferences;
import dev.pulse.executors.ExecutionError;
import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.ExecutionResult;
import dev.pulse.executors.Redactor;
import dev.pulse.executors.agents.LocalSpec;
import java.io.IOException;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * Runs an agent as a subprocess: the input JSON on stdin, the result JSON on stdout, stderr kept as
 * logs. A non-zero exit fails the attempt; a timeout or an interrupt kills the whole process tree.
 * The secrets its environment resolved are redacted from the errors and logs it reports.
 */
final class ProcessRunner {

    static final int MAX_RESULT_BYTES = 1 << 20;
    static final int MAX_LOG_BYTES = 64 << 10;
    private static final long DRAIN_SECONDS = 5;

    private final ObjectMapper json;
    private final Function<String, String> environment;
    private final ExecutorService io;

    ProcessRunner(ObjectMapper json, Function<String, String> environment, ExecutorService io) {
        this.json = json;
        this.environment = environment;
        this.io = io;
    }

    ExecutionResult run(ExecutionRequest request, LocalSpec spec) throws InterruptedException {
        EnvReferences.Resolver resolver = new EnvReferences.Resolver(environment);
        Map<String, String> env = new LinkedHashMap<>();
        try {
            spec.env().forEach((key, value) -> env.put(key, resolver.resolve(value, "env." + key)));
        } catch (IllegalStateException e) {
            return ExecutionResult.failure(ExecutionError.EXECUTOR_UNAVAILABLE, e.getMessage());
        }
        ExecutionResult result = run(request, spec, env);
        return redacted(result, Redactor.of(resolver.substituted()));
    }

    private static ExecutionResult redacted(ExecutionResult result, Redactor secrets) {
        ExecutionError error =
                result.error() == null
                        ? null
                        : new ExecutionError(
                                result.error().code(), secrets.scrub(result.error().message()));
        return new ExecutionResult(
                result.succeeded(),
                result.output(),
                error,
                secrets.scrub(result.logs()),
                result.alreadyRecorded());
    }

    private ExecutionResult run(ExecutionRequest request, LocalSpec spec, Map<String, String> env)
            throws InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(spec.command());
        if (spec.workdir() != null) {
            builder.directory(spec.workdir().toFile());
        }
        builder.environment().putAll(env);
        builder.environment().put("PULSE_TASK_ID", request.taskId().toString());
        builder.environment().put("PULSE_ATTEMPT", Integer.toString(request.attempt()));
        builder.environment().putAll(request.trace().asEnvironment());

        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            return ExecutionResult.failure(
                    ExecutionError.EXECUTOR_UNAVAILABLE,
                    "cannot start "
                            + spec.command()
                            + " in "
                            + spec.workdir()
                            + ": "
                            + e.getMessage()
                            + "; check spec.local.command and that the program is installed on this node");
        }
        byte[] stdin = toBytes(request.input());
        Future<?> writer = io.submit(() -> writeStdin(process, stdin));
        Future<BoundedText.Captured> stdout =
                io.submit(() -> BoundedText.readHead(process.getInputStream(), MAX_RESULT_BYTES));
        Future<String> stderr =
                io.submit(() -> BoundedText.readTail(process.getErrorStream(), MAX_LOG_BYTES));

        boolean finished;
        try {
            finished = process.waitFor(request.timeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            killTree(process);
            throw e;
        }
        if (!finished) {
            killTree(process);
            return ExecutionResult.failure(
                    new ExecutionError(
                            ExecutionError.TIMEOUT,
                            "the agent did not finish within "
                                    + request.timeout().toMillis()
                                    + " ms; its process was killed"),
                    drain(stderr, ""));
        }
        writer.cancel(true);
        String logs = drain(stderr, "");
        BoundedText.Captured out = drain(stdout, new BoundedText.Captured("", false));
        int exit = process.exitValue();
        if (exit != 0) {
            return ExecutionResult.failure(
                    new ExecutionError(
                            ExecutionError.AGENT_ERROR,
                            "the agent process exited with code " + exit + lastLine(logs)),
                    logs);
        }
        return parseResult(out, logs);
    }

    private ExecutionResult parseResult(BoundedText.Captured out, String logs) {
        if (out.truncated()) {
            return ExecutionResult.failure(
                    new ExecutionError(
                            ExecutionError.INVALID_OUTPUT,
                            "the agent wrote more than "
                                    + MAX_RESULT_BYTES
                                    + " bytes on stdout; results must be smaller"),
                    logs);
        }
        if (out.text().isBlank()) {
            return ExecutionResult.failure(
                    new ExecutionError(
                            ExecutionError.INVALID_OUTPUT,
                            "the agent exited 0 but wrote nothing on stdout; it must print its result as JSON"),
                    logs);
        }
        try {
            return ExecutionResult.success(json.readTree(out.text()), logs);
        } catch (JsonProcessingException e) {
            return ExecutionResult.failure(
                    new ExecutionError(
                            ExecutionError.INVALID_OUTPUT,
                            "the agent's stdout is not JSON ("
                                    + e.getOriginalMessage()
                                    + "); print the result as one JSON value"
                                    + " and send anything else to stderr"),
                    logs);
        }
    }

    private byte[] toBytes(JsonNode input) {
        try {
            return json.writeValueAsBytes(input);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise a parsed JSON tree", e);
        }
    }

    private static Void writeStdin(Process process, byte[] bytes) {
        try (OutputStream in = process.getOutputStream()) {
            in.write(bytes);
        } catch (IOException e) {
            // The agent may exit without reading its input; that is its business, not an error.
        }
        return null;
    }

    private static void killTree(Process process) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }

    private static <T> T drain(Future<T> future, T fallback) throws InterruptedException {
        try {
            return future.get(DRAIN_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException | TimeoutException e) {
            future.cancel(true);
            return fallback;
        }
    }

    private static String lastLine(String logs) {
        String trimmed = logs.strip();
        if (trimmed.isEmpty()) {
            return "";
        }
        int nl = trimmed.lastIndexOf('\n');
        return ": " + trimmed.substring(nl + 1);
    }
}
