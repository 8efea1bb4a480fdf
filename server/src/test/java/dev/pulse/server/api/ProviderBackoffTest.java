package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.executors.standins.OpenAiStandIn;
import dev.pulse.server.TestNode;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.testing.TestDatabase;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * Provider back-off on real nodes (issue 21): a loopback stand-in for an OpenAI-compatible provider
 * answers its first calls with a real HTTP 429 and {@code Retry-After: 2}; the agent is held on
 * both nodes until then, queued tasks say {@code provider_backoff} and until when, and every task
 * still succeeds with one counted attempt.
 */
class ProviderBackoffTest {

    private static final ObjectMapper json = new ObjectMapper();
    private static final Duration DEADLINE = Duration.ofMinutes(3);
    private static final Duration RETRY_AFTER = Duration.ofSeconds(2);

    @Test
    void a429WithRetryAfterHoldsTheAgentOnEveryNodeAndCostsNoAttempt() throws Exception {
        DatabaseUrl database = TestDatabase.create();
        try (OpenAiStandIn provider =
                        new OpenAiStandIn()
                                .usage(10, 8)
                                .throttleFirst(RETRY_AFTER, Map.of("Retry-After", "2"));
                AlertReceiverStandIn alerts = new AlertReceiverStandIn();
                TestNode a =
                        new TestNode(
                                database,
                                Map.of(
                                        "PULSE_WORKER_CONCURRENCY",
                                        "1",
                                        "PULSE_ALERT_URL",
                                        alerts.url()));
                TestNode b =
                        new TestNode(
                                database,
                                Map.of(
                                        "PULSE_WORKER_CONCURRENCY",
                                        "1",
                                        "PULSE_ALERT_URL",
                                        alerts.url()))) {
            ObjectNode spec =
                    json.createObjectNode()
                            .put("executor", "llm")
                            .put("timeout", "60s")
                            .put("max_attempts", 1);
            spec.putObject("llm")
                    .put("provider", "openai")
                    .put("base_url", provider.baseUrl())
                    .put("model", "stand-in-model")
                    .put("prompt", "Summarise: {{input.text}}");
            put(a, agentDocument("summarise", spec));
            awaitTrue(
                    () -> b.get("/v1/agents/summarise").statusCode() == 200,
                    "node b never learned of the agent");

            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                ids.add(
                        create(
                                i % 2 == 0 ? a : b,
                                "{\"agent\": \"summarise\", \"input\": {\"text\": \"t%d\"}}"
                                        .formatted(i)));
            }
            JsonNode[] seen = {null};
            awaitTrue(
                    () -> {
                        if (seen[0] == null) {
                            seen[0] = waiting(b, "summarise", "provider_backoff");
                        }
                        return a.count(
                                        "SELECT count(*) FROM tasks WHERE agent = 'summarise' AND state = 'succeeded'")
                                == 8;
                    },
                    "the throttled agent's tasks never all succeeded");

            Instant from = provider.throttledFrom();
            assertThat(from).as("the stand-in never throttled").isNotNull();
            long inWindow =
                    provider.received().stream()
                            .filter(r -> !r.at().isBefore(from))
                            .filter(r -> r.at().isBefore(from.plus(RETRY_AFTER)))
                            .count();
            // Two slots (one per node) can each have a call in flight when the first 429 comes.
            assertThat(inWindow)
                    .as("calls that reached the provider within its Retry-After")
                    .isBetween(1L, 2L);
            assertThat(seen[0])
                    .as("a queued task said provider_backoff while the agent was held")
                    .isNotNull();
            assertThat(Instant.parse(seen[0].path("waiting_until").asText()))
                    .isAfter(from.plus(RETRY_AFTER).minusMillis(500));
            assertThat(a.count("SELECT count(*) FROM ended_attempts WHERE outcome = 'throttled'"))
                    .as("throttled attempts recorded")
                    .isBetween(1L, 2L);
            assertThat(alerts.verified())
                    .as("one signed alert for the back-off, from one of the two nodes")
                    .hasSize(1);
            JsonNode alert = json.readTree(alerts.verified().get(0)).path("data");
            assertThat(alert.path("agent").asText()).isEqualTo("summarise");
            assertThat(alert.path("reason").asText()).isEqualTo("provider_backoff");
            assertThat(alert.path("until").asText()).isNotEmpty();
            for (String id : ids) {
                JsonNode task = json.readTree(a.get("/v1/tasks/" + id).body());
                assertThat(task.path("state").asText()).isEqualTo("succeeded");
                assertThat(
                                a.count(
                                        "SELECT count(*) FROM ended_attempts WHERE outcome <> 'throttled' AND task_id = '"
                                                + id
                                                + "'"))
                        .as("counted attempts of %s (max_attempts 1)", id)
                        .isEqualTo(1);
            }
        }
    }

    private static JsonNode waiting(TestNode node, String agent, String reason) {
        try {
            JsonNode page =
                    json.readTree(
                            node.get("/v1/tasks?state=queued&limit=500&agent=" + agent).body());
            for (JsonNode t : page.path("items")) {
                if (reason.equals(t.path("waiting_reason").asText(null))) {
                    return t;
                }
            }
            return null;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String create(TestNode node, String body) throws Exception {
        HttpResponse<String> created = node.post("/v1/tasks", body);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        return json.readTree(created.body()).path("id").asText();
    }

    private static String agentDocument(String name, ObjectNode spec) throws Exception {
        ObjectNode document =
                json.createObjectNode().put("apiVersion", "pulse/v1").put("kind", "Agent");
        document.putObject("metadata").put("name", name);
        document.set("spec", spec);
        return json.writeValueAsString(document);
    }

    private static void put(TestNode node, String document) throws Exception {
        String name = json.readTree(document).path("metadata").path("name").asText();
        HttpResponse<String> answer =
                node.send(
                        node.request("/v1/agents/" + name)
                                .PUT(HttpRequest.BodyPublishers.ofString(document))
                                .build());
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(201);
    }

    private static void awaitTrue(BooleanSupplier condition, String failure) throws Exception {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(failure).isLessThan(deadline);
            Thread.sleep(50);
        }
    }
}
