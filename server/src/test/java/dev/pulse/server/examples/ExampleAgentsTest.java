package dev.pulse.server.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.AgentFileLoader;
import dev.pulse.executors.local.JavaAgents;
import dev.pulse.server.TestNode;
import dev.pulse.workers.agents.NodeExecutors;
import dev.pulse.workers.keys.ApiKeyStore;
import dev.pulse.workers.keys.Scope;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.EnumSet;
import java.util.Map;
import okhttp3.OkHttpClient;
import org.junit.jupiter.api.Test;

/**
 * The example agents in config/examples stay valid, and the example function works in both
 * serverless modes.
 */
class ExampleAgentsTest {

    private static final Path EXAMPLES = Path.of("..", "config", "examples");
    private static final ObjectMapper json = new ObjectMapper();

    @Test
    void everyExampleAgentIsValidForItsExecutor() {
        AgentFileLoader.Loaded loaded =
                new AgentFileLoader().loadDirectory(EXAMPLES.resolve("agents"));
        assertThat(loaded.problems()).isEmpty();
        assertThat(loaded.agents())
                .extracting(AgentDefinition::executor)
                .containsExactlyInAnyOrder(
                        "serverless", "serverless", "llm", "container", "kubernetes", "remote");
        try (NodeExecutors executors =
                new NodeExecutors(
                        JavaAgents.discover(Path.of("no-plugins")),
                        new OkHttpClient(),
                        json,
                        Map.<String, String>of()::get)) {
            for (AgentDefinition agent : loaded.agents()) {
                assertThat(executors.factory().executorFor(agent)).as(agent.name()).isPresent();
                assertThat(executors.factory().executorFor(agent).get().validate(agent))
                        .as(agent.name())
                        .isEmpty();
            }
        }
    }

    @Test
    void theExampleFunctionAnswersSyncRunsAndReportsAsyncOnes() throws Exception {
        assumeTrue(
                python3(),
                "!!! SKIPPED: python3 is not installed; the example function is a Python script");
        try (TestNode pulse = new TestNode()) {
            String key =
                    new ApiKeyStore(pulse.jdbi, new SecureRandom())
                            .create("example-function", EnumSet.of(Scope.TASKS_COMPLETE));
            int port = freePort();
            ProcessBuilder builder =
                    new ProcessBuilder(
                                    "python3",
                                    EXAMPLES.resolve("functions/summarize_function.py").toString(),
                                    Integer.toString(port))
                            .redirectError(ProcessBuilder.Redirect.INHERIT);
            builder.environment().put("PULSE_REPORT_KEY", key);
            Process function = builder.start();
            try {
                BufferedReader out =
                        new BufferedReader(
                                new InputStreamReader(
                                        function.getInputStream(), StandardCharsets.UTF_8));
                assertThat(out.readLine()).contains("listening on http://127.0.0.1:" + port);
                for (String name : new String[] {"summarize-function", "summarize-later"}) {
                    String yaml =
                            Files.readString(EXAMPLES.resolve("agents/" + name + ".yaml"))
                                    .replace(":8090/", ":" + port + "/");
                    HttpResponse<String> put =
                            pulse.send(
                                    pulse.request("/v1/agents/" + name)
                                            .PUT(
                                                    HttpRequest.BodyPublishers.ofString(
                                                            json.writeValueAsString(
                                                                    new YAMLMapper()
                                                                            .readTree(yaml))))
                                            .build());
                    assertThat(put.statusCode()).as(put.body()).isEqualTo(201);
                    HttpResponse<String> created =
                            pulse.post(
                                    "/v1/tasks",
                                    "{\"agent\": \""
                                            + name
                                            + "\", \"input\": {\"text\": \"one two three\", \"work_seconds\": 0.2}}");
                    JsonNode done = await(pulse, json.readTree(created.body()).path("id").asText());
                    assertThat(done.path("state").asText())
                            .as(name + ": " + done)
                            .isEqualTo("succeeded");
                    assertThat(done.path("result"))
                            .as(name)
                            .isEqualTo(
                                    json.readTree(
                                            "{\"summary\": \"one two three\", \"words\": 3}"));
                }
            } finally {
                function.destroy();
            }
        }
    }

    private static JsonNode await(TestNode pulse, String id) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        JsonNode task = null;
        while (System.nanoTime() < deadline) {
            task = json.readTree(pulse.get("/v1/tasks/" + id).body());
            if (task.path("finished_at").isTextual()) {
                return task;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("task never finished: " + task);
    }

    private static int freePort() throws Exception {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }

    private static boolean python3() {
        try {
            return new ProcessBuilder("python3", "--version").start().waitFor() == 0;
        } catch (Exception e) {
            return false;
        }
    }
}
