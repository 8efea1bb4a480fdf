package dev.pulse.executors.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.ExecutionError;
import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.ExecutionResult;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.AgentFileLoader;
import dev.pulse.executors.agents.LocalSpec;
import dev.pulse.executors.builtin.SleepAgent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalExecutorTest {

    private final ObjectMapper json = new ObjectMapper();
    private final Map<String, String> fakeEnvironment = Map.of("GREETING_TOKEN", "s3cret");
    private final LocalExecutor executor =
            new LocalExecutor(JavaAgents.discover(), json, fakeEnvironment::get);

    @TempDir Path dir;

    @AfterEach
    void tearDown() {
        executor.close();
    }

    @Test
    void builtInAgentsAreFoundWithServiceLoader() {
        assertThat(JavaAgents.discover().definitions())
                .extracting(AgentDefinition::name)
                .contains("echo", "sleep");
    }

    @Test
    void echoReturnsItsInput() throws Exception {
        JsonNode input = json.readTree("{\"text\": \"hi\", \"n\": [1, 2]}");
        ExecutionResult result =
                executor.execute(request(inJvm("echo"), input, Duration.ofSeconds(60)));
        assertThat(result.succeeded()).isTrue();
        assertThat(result.output()).isEqualTo(input);
    }

    @Test
    void sleepIsInterruptedAtItsTimeout() throws Exception {
        // The sleep is ten minutes, so ending in a fraction of that (however busy the machine)
        // means it was interrupted.
        long start = System.nanoTime();
        ExecutionResult result =
                executor.execute(
                        request(
                                inJvm("sleep"),
                                json.readTree("{\"ms\": 600000}"),
                                Duration.ofMillis(200)));
        assertThat(result.succeeded()).isFalse();
        assertThat(result.error().code()).isEqualTo(ExecutionError.TIMEOUT);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMinutes(2));
    }

    @Test
    void anInJvmAgentRunsOnTheCallersThreadAndItsTimeoutLeavesNoInterruptBehind() throws Exception {
        Thread caller = Thread.currentThread();
        JavaAgent sameThread =
                testAgent(
                        input ->
                                json.createObjectNode()
                                        .put("sameThread", Thread.currentThread() == caller));
        try (LocalExecutor local =
                new LocalExecutor(
                        new JavaAgents(List.of(sameThread, new SleepAgent())),
                        json,
                        fakeEnvironment::get)) {
            ExecutionResult quick =
                    local.execute(
                            request(
                                    inJvm(sameThread.name()),
                                    json.createObjectNode(),
                                    Duration.ofSeconds(2)));
            assertThat(quick.output().path("sameThread").asBoolean())
                    .as("result: %s", quick)
                    .isTrue();
            // Past the finished run's deadline by the timer's own account, not by a guess at how
            // long
            // that takes: on another thread, one run whose deadline comes after it times out, then
            // a
            // second, which the timer can only fire on a later pass than the one that fired the
            // first.
            ExecutorService other = Executors.newSingleThreadExecutor();
            try {
                for (Duration timeout : List.of(Duration.ofMillis(2100), Duration.ofMillis(100))) {
                    ExecutionResult later =
                            other.submit(
                                            () ->
                                                    local.execute(
                                                            request(
                                                                    inJvm("sleep"),
                                                                    json.readTree(
                                                                            "{\"ms\": 600000}"),
                                                                    timeout)))
                                    .get();
                    assertThat(later.error().code()).isEqualTo(ExecutionError.TIMEOUT);
                }
            } finally {
                other.shutdownNow();
            }
            assertThat(Thread.currentThread().isInterrupted())
                    .as("a finished run's timeout fired anyway")
                    .isFalse();
        }

        ExecutionResult slow =
                executor.execute(
                        request(
                                inJvm("sleep"),
                                json.readTree("{\"ms\": 600000}"),
                                Duration.ofMillis(100)));
        assertThat(slow.error().code()).isEqualTo(ExecutionError.TIMEOUT);
        assertThat(Thread.currentThread().isInterrupted())
                .as("the timeout's interrupt was left on the caller")
                .isFalse();
    }

    @Test
    void anInJvmAgentThatIgnoresTheInterruptAndAnswersLateStillTimesOut() throws Exception {
        ExecutionResult result =
                runTestAgent(
                        input -> {
                            long end = System.nanoTime() + Duration.ofMillis(300).toNanos();
                            while (System.nanoTime() < end) {
                                Thread.onSpinWait(); // ignores the interrupt on purpose
                            }
                            return json.createObjectNode();
                        },
                        Duration.ofMillis(50));
        assertThat(result.error().code()).isEqualTo(ExecutionError.TIMEOUT);
        assertThat(result.error().message()).contains("50 ms");
        assertThat(Thread.currentThread().isInterrupted()).isFalse();
    }

    @Test
    void anInJvmAgentThatThrowsFailsWithItsMessage() throws Exception {
        ExecutionResult result =
                executor.execute(
                        request(
                                inJvm("sleep"),
                                json.readTree("{\"ms\": \"soon\"}"),
                                Duration.ofSeconds(60)));
        assertThat(result.error().code()).isEqualTo(ExecutionError.AGENT_ERROR);
        assertThat(result.error().message()).contains("input.ms");
    }

    @Test
    void aProcessReadsInputOnStdinAndWritesItsResultOnStdoutWithStderrKeptAsLogs()
            throws Exception {
        Path script =
                script(
                        "agent.sh",
                        """
                input=$(cat)
                echo "working on task $PULSE_TASK_ID" >&2
                printf '{"got": %s, "token": "%s"}' "$input" "$TOKEN"
                """);
        AgentDefinition agent =
                process(List.of("sh", script.toString()), Map.of("TOKEN", "${env:GREETING_TOKEN}"));
        ExecutionRequest request =
                request(agent, json.readTree("{\"a\": 1}"), Duration.ofSeconds(60));

        ExecutionResult result = executor.execute(request);

        assertThat(result.succeeded()).isTrue();
        assertThat(result.output())
                .isEqualTo(json.readTree("{\"got\": {\"a\": 1}, \"token\": \"s3cret\"}"));
        assertThat(result.logs()).contains("working on task " + request.taskId());
    }

    @Test
    void aNonZeroExitFailsTheAttemptAndKeepsStderr() throws Exception {
        Path script = script("fail.sh", "echo 'model quota exceeded' >&2; exit 3");
        ExecutionResult result =
                executor.execute(
                        request(
                                process(List.of("sh", script.toString()), Map.of()),
                                json.createObjectNode(),
                                Duration.ofSeconds(60)));
        assertThat(result.succeeded()).isFalse();
        assertThat(result.error().code()).isEqualTo(ExecutionError.AGENT_ERROR);
        assertThat(result.error().message()).contains("code 3").contains("model quota exceeded");
        assertThat(result.logs()).contains("model quota exceeded");
    }

    @Test
    void stdoutThatIsNotJsonFailsWithAnExplanation() throws Exception {
        Path script = script("chatty.sh", "echo 'hello, I am not JSON'");
        ExecutionResult result =
                executor.execute(
                        request(
                                process(List.of("sh", script.toString()), Map.of()),
                                json.createObjectNode(),
                                Duration.ofSeconds(60)));
        assertThat(result.error().code()).isEqualTo(ExecutionError.INVALID_OUTPUT);
        assertThat(result.error().message()).contains("not JSON");
    }

    @Test
    void aTimeoutKillsTheWholeProcessTree() throws Exception {
        Path childPid = dir.resolve("child.pid");
        Path script = script("hang.sh", "sleep 600 & echo $! > " + childPid + "; wait");
        long start = System.nanoTime();

        // The timeout leaves the shell seconds to start its child even on a busy machine; the child
        // sleeps ten minutes, so ending in a fraction of that means the tree was killed.
        ExecutionResult result =
                executor.execute(
                        request(
                                process(List.of("sh", script.toString()), Map.of()),
                                json.createObjectNode(),
                                Duration.ofSeconds(3)));

        assertThat(result.error().code()).isEqualTo(ExecutionError.TIMEOUT);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMinutes(2));
        assertThat(childPid).as("the shell started its child before the timeout").exists();
        long pid = Long.parseLong(Files.readString(childPid).trim());
        assertThat(awaitGone(pid))
                .as("the agent's child process (pid %d) was killed too", pid)
                .isTrue();
    }

    @Test
    void anInterruptCancelsTheRunAndKillsTheProcess() throws Exception {
        Path started = dir.resolve("started");
        Path script = script("slow.sh", "touch " + started + "; sleep 600");
        ExecutorService caller = Executors.newSingleThreadExecutor();
        Future<ExecutionResult> run =
                caller.submit(
                        () ->
                                executor.execute(
                                        request(
                                                process(List.of("sh", script.toString()), Map.of()),
                                                json.createObjectNode(),
                                                Duration.ofSeconds(60))));
        while (!Files.exists(started)) {
            Thread.sleep(10);
        }
        long count = ProcessHandle.current().descendants().count();
        assertThat(count).isPositive();

        run.cancel(true);
        caller.shutdown();
        assertThat(caller.awaitTermination(2, TimeUnit.MINUTES)).isTrue();
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (ProcessHandle.current()
                        .descendants()
                        .anyMatch(p -> p.info().command().orElse("").contains("sleep"))
                && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(
                        ProcessHandle.current()
                                .descendants()
                                .filter(p -> p.info().command().orElse("").contains("sleep")))
                .isEmpty();
    }

    @Test
    void aMissingSecretReferenceFailsWithoutStartingTheProcess() throws Exception {
        AgentDefinition agent =
                process(List.of("sh", "-c", "echo '{}'"), Map.of("KEY", "${env:NOT_SET_ANYWHERE}"));
        ExecutionResult result =
                executor.execute(request(agent, json.createObjectNode(), Duration.ofSeconds(60)));
        assertThat(result.error().code()).isEqualTo(ExecutionError.EXECUTOR_UNAVAILABLE);
        assertThat(result.error().message()).contains("NOT_SET_ANYWHERE");
    }

    @Test
    void theShippedPythonExampleAgentCountsWords() throws Exception {
        assumeTrue(
                onPath("python3"),
                "!!! SKIPPED: python3 is not installed, so the shipped example agent cannot run");
        AgentFileLoader.Loaded loaded =
                new AgentFileLoader().loadDirectory(Path.of("..", "config", "agents"));
        assertThat(loaded.problems()).isEmpty();
        AgentDefinition wordCount =
                loaded.agents().stream()
                        .filter(a -> a.name().equals("word-count"))
                        .findFirst()
                        .orElseThrow();

        ExecutionResult result =
                executor.execute(
                        request(
                                wordCount,
                                json.readTree("{\"text\": \"the cat and the hat\"}"),
                                Duration.ofSeconds(60)));

        assertThat(result.succeeded()).as("result: %s", result).isTrue();
        assertThat(result.output().path("words").asInt()).isEqualTo(5);
        assertThat(result.output().path("top").get(0).asText()).isEqualTo("the");
        assertThat(result.logs()).contains("counted 5 words");
    }

    private ExecutionResult runTestAgent(AgentBody body, Duration timeout)
            throws InterruptedException {
        JavaAgent agent = testAgent(body);
        try (LocalExecutor local =
                new LocalExecutor(new JavaAgents(List.of(agent)), json, fakeEnvironment::get)) {
            return local.execute(request(inJvm(agent.name()), json.createObjectNode(), timeout));
        }
    }

    private static JavaAgent testAgent(AgentBody body) {
        return new JavaAgent() {
            @Override
            public String name() {
                return "test-agent";
            }

            @Override
            public JsonNode run(JsonNode input) throws Exception {
                return body.run(input);
            }
        };
    }

    private interface AgentBody {
        JsonNode run(JsonNode input) throws Exception;
    }

    private ExecutionRequest request(AgentDefinition agent, JsonNode input, Duration timeout) {
        return new ExecutionRequest(UUID.randomUUID(), 1, UUID.randomUUID(), agent, input, timeout);
    }

    private static AgentDefinition inJvm(String name) {
        return AgentDefinition.withDefaults(
                name, LocalExecutor.KIND, LocalSpec.inJvm(name), "test");
    }

    private AgentDefinition process(List<String> command, Map<String, String> env) {
        return AgentDefinition.withDefaults(
                "proc", LocalExecutor.KIND, LocalSpec.process(command, dir, env), "test");
    }

    private Path script(String name, String body) throws IOException {
        return Files.writeString(dir.resolve(name), body);
    }

    private static boolean awaitGone(long pid) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (System.nanoTime() < deadline) {
            if (ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true)) {
                return true;
            }
            Thread.sleep(20);
        }
        return false;
    }

    private static boolean onPath(String program) {
        return Arrays.stream(System.getenv().getOrDefault("PATH", "").split(":"))
                .anyMatch(d -> Files.isExecutable(Path.of(d, program)));
    }
}
