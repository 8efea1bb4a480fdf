package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.keys.ApiKeyStore;
import dev.pulse.workers.keys.Scope;
import dev.pulse.workers.testing.TestDatabase;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.SecureRandom;
import java.util.EnumSet;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Shared agents managed through {@code PUT/DELETE /v1/agents/{name}}, seen by every node. */
class AgentsApiTest {

    private static final ObjectMapper json = new ObjectMapper();
    private static final String CAT_AGENT =
            """
            {"apiVersion": "pulse/v1", "kind": "Agent", "metadata": {"name": "cat"},
             "spec": {"executor": "local", "timeout": "10s", "local": {"command": ["sh", "-c", "cat"]}}}
            """;

    @Test
    void anAgentPutOnOneNodeRunsOnAnotherAndCanBeRemoved() throws Exception {
        DatabaseUrl database = TestDatabase.create();
        try (TestNode api = new TestNode(database, Map.of("PULSE_ROLES", "api"));
                TestNode worker = new TestNode(database, Map.of("PULSE_ROLES", "worker"))) {
            HttpResponse<String> created = put(api, "cat", CAT_AGENT);
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
            assertThat(created.body()).doesNotContain("sh -c").doesNotContain("\"cat\"]");
            assertThat(put(api, "cat", CAT_AGENT).statusCode())
                    .as("the same document again")
                    .isEqualTo(200);

            String id =
                    json.readTree(
                                    api.post(
                                                    "/v1/tasks",
                                                    "{\"agent\": \"cat\", \"input\": {\"meow\": 1}}")
                                            .body())
                            .path("id")
                            .asText();
            JsonNode done = await(api, id, "succeeded");
            assertThat(done.path("result")).isEqualTo(json.readTree("{\"meow\": 1}"));

            assertThat(api.send(api.request("/v1/agents/cat").DELETE().build()).statusCode())
                    .isEqualTo(204);
            assertThat(api.post("/v1/tasks", "{\"agent\": \"cat\"}").statusCode())
                    .as("gone")
                    .isEqualTo(422);
            assertThat(api.send(api.request("/v1/agents/echo").DELETE().build()).statusCode())
                    .as("built-in")
                    .isEqualTo(409);
            assertThat(api.send(api.request("/v1/agents/ghost").DELETE().build()).statusCode())
                    .isEqualTo(404);
        }
    }

    @Test
    void anInvalidDocumentGets422NamingEachPathAndIsNotStored() throws Exception {
        try (TestNode pulse = new TestNode()) {
            HttpResponse<String> bad =
                    put(
                            pulse,
                            "broken",
                            """
                    {"apiVersion": "pulse/v2", "kind": "Agent", "metadata": {"name": "broken"},
                     "spec": {"executor": "serverless", "serverless": {"url": "ftp://x"}, "max_attempts": 0}}
                    """);
            assertThat(bad.statusCode()).isEqualTo(422);
            assertThat(json.readTree(bad.body()).path("errors"))
                    .extracting(e -> e.path("field").asText())
                    .contains("apiVersion", "spec.serverless.url", "spec.max_attempts");
            assertThat(pulse.count("SELECT count(*) FROM agents WHERE name = 'broken'")).isZero();

            HttpResponse<String> badJob =
                    put(
                            pulse,
                            "job",
                            """
                    {"apiVersion": "pulse/v1", "kind": "Agent", "metadata": {"name": "job"},
                     "spec": {"executor": "kubernetes", "kubernetes": {"image": "Not An Image!",
                       "resources": {"limits": {"memory": "lots"}}}}}
                    """);
            assertThat(badJob.statusCode()).as(badJob.body()).isEqualTo(422);
            assertThat(json.readTree(badJob.body()).path("errors"))
                    .extracting(e -> e.path("field").asText())
                    .contains("spec.kubernetes.image", "spec.kubernetes.resources.limits.memory");
            assertThat(pulse.count("SELECT count(*) FROM agents WHERE name = 'job'")).isZero();
            assertThat(
                            put(
                                            pulse,
                                            "echo",
                                            "{\"apiVersion\": \"pulse/v1\", \"kind\": \"Agent\", \"spec\": "
                                                    + "{\"executor\": \"local\", \"local\": {\"command\": [\"true\"]}}}")
                                    .statusCode())
                    .as("built-in")
                    .isEqualTo(422);
        }
    }

    @Test
    void changingAgentsNeedsTheAdminScope() throws Exception {
        try (TestNode pulse = new TestNode()) {
            String reader =
                    new ApiKeyStore(pulse.jdbi, new SecureRandom())
                            .create("agent-reader", EnumSet.of(Scope.AGENTS_READ));
            HttpResponse<String> refused =
                    pulse.send(
                            HttpRequest.newBuilder(URI.create(pulse.url("/v1/agents/cat")))
                                    .header("Authorization", "Bearer " + reader)
                                    .PUT(HttpRequest.BodyPublishers.ofString(CAT_AGENT))
                                    .build());
            assertThat(refused.statusCode()).isEqualTo(403);
        }
    }

    private static HttpResponse<String> put(TestNode node, String name, String body) {
        return node.send(
                node.request("/v1/agents/" + name)
                        .PUT(HttpRequest.BodyPublishers.ofString(body))
                        .build());
    }

    private static JsonNode await(TestNode node, String id, String state) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        JsonNode task = null;
        while (System.nanoTime() < deadline) {
            task = json.readTree(node.get("/v1/tasks/" + id).body());
            if (task.path("state").asText().equals(state)) {
                return task;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("task never became " + state + ": " + task);
    }
}
