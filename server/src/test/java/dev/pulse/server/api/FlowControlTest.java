package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.server.TestNode;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.testing.TestDatabase;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Concurrency keys, per-key concurrency and rate limits on real nodes (issue 21): one key's flood
 * does not hold another key back, {@code per_key_concurrency: 1} never runs two of a key at once
 * across two nodes, {@code rate_limit: 5 per 1s} never starts more than five in any second and
 * drops nothing, and a held-back task says why. Outcomes are read from the database (start times of
 * attempts) and from what the agents record; nothing asserts on wall time.
 */
class FlowControlTest {

    private static final ObjectMapper json = new ObjectMapper();
    private static final Duration DEADLINE = Duration.ofMinutes(3);

    @TempDir Path dir;

    @Test
    void oneKeysFloodDoesNotHoldBackAnotherKeysRuns() throws Exception {
        int slots = 32;
        try (TestNode node =
                new TestNode(
                        TestDatabase.create(),
                        Map.of("PULSE_WORKER_CONCURRENCY", String.valueOf(slots)))) {
            for (int batch = 0; batch < 2; batch++) {
                queueBatch(node, "sleep", "{\"ms\": 200}", "flood", 1000);
            }
            long floodStartedBefore =
                    node.count(
                            "SELECT count(*) FROM tasks WHERE concurrency_key = 'flood' AND started_at IS NOT NULL");
            queueBatch(node, "sleep", "{\"ms\": 200}", "other", 40);

            awaitTrue(
                    () ->
                            node.count(
                                            "SELECT count(*) FROM tasks WHERE concurrency_key = 'other' AND state = 'succeeded'")
                                    == 40,
                    "the other key's 40 runs never all succeeded");
            long floodWaiting =
                    node.count(
                            "SELECT count(*) FROM tasks WHERE concurrency_key = 'flood' AND state IN ('queued', 'scheduled')");
            long floodStartedFirst =
                    node.count(
                            """
                            SELECT count(*) FROM tasks
                             WHERE concurrency_key = 'flood' AND started_at
                                   < (SELECT max(started_at) FROM tasks WHERE concurrency_key = 'other')""");
            assertThat(floodStartedFirst)
                    .as(
                            "flood runs started before the other key's last (%d had started when it was queued)",
                            floodStartedBefore)
                    .isLessThanOrEqualTo(floodStartedBefore + 40 + 2L * slots);
            assertThat(floodWaiting)
                    .as("the flood's backlog when the other key's runs were all done")
                    .isGreaterThan(1000);

            awaitTrue(
                    () ->
                            node.count(
                                            "SELECT count(*) FROM tasks WHERE concurrency_key = 'flood' AND state = 'succeeded'")
                                    == 2000,
                    "the flood never finished");
            assertThat(
                            json.readTree(
                                            node.get("/v1/tasks?concurrency_key=other&limit=100")
                                                    .body())
                                    .path("items"))
                    .as("the list filtered by key")
                    .hasSize(40)
                    .allSatisfy(
                            t -> assertThat(t.path("concurrency_key").asText()).isEqualTo("other"));
        }
    }

    @Test
    void perKeyConcurrencyOfOneNeverRunsTwoOfAKeyAtOnceAcrossTwoNodes() throws Exception {
        DatabaseUrl database = TestDatabase.create();
        try (TestNode a = new TestNode(database, Map.of("PULSE_WORKER_CONCURRENCY", "4"));
                TestNode b = new TestNode(database, Map.of("PULSE_WORKER_CONCURRENCY", "4"))) {
            Path overlaps = dir.resolve("overlaps");
            // Each run enters a directory of its key; entering fails while another run of the key
            // is inside.
            String script =
                    """
                    k=$(cat | sed 's/.*"key" *: *"\\([^"]*\\)".*/\\1/'); \
                    if mkdir %1$s/inside-$k 2>/dev/null; then sleep 0.2; rmdir %1$s/inside-$k; \
                    else echo $k >> %2$s; fi; echo '{}'"""
                            .formatted(dir, overlaps);
            ObjectNode spec = localAgent(script);
            spec.put("per_key_concurrency", 1);
            put(a, agentDocument("one-per-key", spec), 201);
            awaitAgent(b, "one-per-key");

            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 18; i++) {
                String key = "k" + (i % 3);
                ids.add(
                        create(
                                i % 2 == 0 ? a : b,
                                "{\"agent\": \"one-per-key\", \"input\": {\"key\": \"%s\"}, \"concurrency_key\": \"%s\"}"
                                        .formatted(key, key)));
            }
            boolean[] sawReason = {false};
            awaitTrue(
                    () -> {
                        sawReason[0] |= anyWaiting(a, "one-per-key", "key_concurrency_limited");
                        return a.count(
                                        "SELECT count(*) FROM tasks WHERE agent = 'one-per-key' AND state = 'succeeded'")
                                == 18;
                    },
                    "the keyed runs never all succeeded");
            assertThat(Files.exists(overlaps))
                    .as("a run of a key entered while another run of that key was inside")
                    .isFalse();
            assertThat(
                            a.count(
                                    """
                                    SELECT count(*) FROM ended_attempts x JOIN tasks tx ON tx.id = x.task_id,
                                                         task_attempts y JOIN tasks ty ON ty.id = y.task_id
                                     WHERE tx.agent = 'one-per-key' AND tx.concurrency_key = ty.concurrency_key
                                       AND x.task_id < y.task_id
                                       AND x.started_at < y.finished_at AND y.started_at < x.finished_at"""))
                    .as("attempts of one key whose recorded runs overlap")
                    .isZero();
            assertThat(sawReason[0])
                    .as("a queued task said it waits for its key's concurrency")
                    .isTrue();
        }
    }

    @Test
    void aRateLimitOfFivePerSecondNeverStartsMoreThanFiveInAnySecondAndDropsNothing()
            throws Exception {
        DatabaseUrl database = TestDatabase.create();
        try (TestNode a = new TestNode(database, Map.of("PULSE_WORKER_CONCURRENCY", "8"));
                TestNode b = new TestNode(database, Map.of("PULSE_WORKER_CONCURRENCY", "8"))) {
            ObjectNode spec = localAgent("cat");
            spec.putObject("rate_limit").put("limit", 5).put("period", "1s");
            put(a, agentDocument("five-per-second", spec), 201);
            awaitAgent(b, "five-per-second");

            int n = 40;
            queueBatch(a, "five-per-second", "{}", null, n / 2);
            queueBatch(b, "five-per-second", "{}", null, n / 2);
            boolean[] sawReason = {false};
            boolean[] sawGauge = {false};
            awaitTrue(
                    () -> {
                        sawReason[0] |= anyWaiting(a, "five-per-second", "rate_limited");
                        sawGauge[0] |=
                                a.get("/metrics")
                                        .body()
                                        .lines()
                                        .anyMatch(
                                                l ->
                                                        l.startsWith(
                                                                        "pulse_tasks_waiting{reason=\"rate_limited\"}")
                                                                && !l.endsWith(" 0.0"));
                        return a.count(
                                        "SELECT count(*) FROM tasks WHERE agent = 'five-per-second' AND state IN ('succeeded', 'failed', 'cancelled')")
                                == n;
                    },
                    "the rate-limited runs never all ended");
            assertThat(
                            a.count(
                                    "SELECT count(*) FROM tasks WHERE agent = 'five-per-second' AND state = 'succeeded' AND attempts = 1"))
                    .as("every task succeeded at its first attempt: nothing dropped")
                    .isEqualTo(n);
            List<Instant> starts =
                    a.jdbi.withHandle(
                            h ->
                                    h.createQuery(
                                                    """
                                                    SELECT a.started_at FROM ended_attempts a JOIN tasks t ON t.id = a.task_id
                                                     WHERE t.agent = 'five-per-second' ORDER BY a.started_at""")
                                            .mapTo(Instant.class)
                                            .list());
            assertThat(starts).hasSize(n);
            for (int i = 0; i + 5 < starts.size(); i++) {
                assertThat(Duration.between(starts.get(i), starts.get(i + 5)))
                        .as("six starts within one second, from start %d", i)
                        .isGreaterThanOrEqualTo(Duration.ofSeconds(1));
            }
            assertThat(sawReason[0]).as("a queued task said it waits for the rate limit").isTrue();
            assertThat(sawGauge[0])
                    .as("pulse_tasks_waiting{reason=\"rate_limited\"} rose")
                    .isTrue();
        }
    }

    @Test
    void badLimitsAndKeysAreRefusedNamingThePath() throws Exception {
        try (TestNode node = new TestNode()) {
            ObjectNode spec = localAgent("cat");
            spec.put("per_key_concurrency", 0);
            spec.putObject("rate_limit").put("limit", -1).put("period", "1fortnight");
            spec.putObject("per_key_rate_limit").put("limit", 5);
            HttpResponse<String> refused = put(node, agentDocument("bad-limits", spec), 422);
            List<String> fields = new ArrayList<>();
            json.readTree(refused.body())
                    .path("errors")
                    .forEach(e -> fields.add(e.path("field").asText()));
            assertThat(fields)
                    .contains(
                            "spec.per_key_concurrency",
                            "spec.rate_limit.limit",
                            "spec.rate_limit.period",
                            "spec.per_key_rate_limit.period");

            HttpResponse<String> longKey =
                    node.post(
                            "/v1/tasks",
                            "{\"agent\": \"echo\", \"concurrency_key\": \"%s\"}"
                                    .formatted("k".repeat(201)));
            assertThat(longKey.statusCode()).isEqualTo(422);
            assertThat(longKey.body()).contains("\"concurrency_key\"");
            HttpResponse<String> batch =
                    node.post(
                            "/v1/tasks/batch",
                            "{\"tasks\": [{\"agent\": \"echo\", \"concurrency_key\": 7}]}");
            assertThat(batch.body()).contains("concurrency_key");
            assertThat(node.count("SELECT count(*) FROM tasks")).isZero();
        }
    }

    private static boolean anyWaiting(TestNode node, String agent, String reason) {
        try {
            JsonNode page =
                    json.readTree(
                            node.get("/v1/tasks?state=queued&limit=500&agent=" + agent).body());
            for (JsonNode t : page.path("items")) {
                if (reason.equals(t.path("waiting_reason").asText(null))) {
                    return true;
                }
            }
            return false;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void queueBatch(TestNode node, String agent, String input, String key, int count)
            throws Exception {
        ObjectNode body = json.createObjectNode();
        ArrayNode tasks = body.putArray("tasks");
        for (int i = 0; i < count; i++) {
            ObjectNode t = tasks.addObject().put("agent", agent);
            t.set("input", json.readTree(input));
            if (key != null) {
                t.put("concurrency_key", key);
            }
        }
        HttpResponse<String> answer = node.post("/v1/tasks/batch", json.writeValueAsString(body));
        assertThat(answer.statusCode()).as(answer.body()).isIn(200, 201, 207);
        assertThat(json.readTree(answer.body()).path("created").asInt())
                .as(answer.body())
                .isEqualTo(count);
    }

    private static String create(TestNode node, String body) throws Exception {
        HttpResponse<String> created = node.post("/v1/tasks", body);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        return json.readTree(created.body()).path("id").asText();
    }

    private static ObjectNode localAgent(String script) {
        ObjectNode spec =
                json.createObjectNode()
                        .put("executor", "local")
                        .put("timeout", "60s")
                        .put("max_attempts", 1);
        spec.putObject("local").putArray("command").add("sh").add("-c").add(script);
        return spec;
    }

    private static String agentDocument(String name, ObjectNode spec) throws Exception {
        ObjectNode document =
                json.createObjectNode().put("apiVersion", "pulse/v1").put("kind", "Agent");
        document.putObject("metadata").put("name", name);
        document.set("spec", spec);
        return json.writeValueAsString(document);
    }

    private static HttpResponse<String> put(TestNode node, String document, int status)
            throws Exception {
        String name = json.readTree(document).path("metadata").path("name").asText();
        HttpResponse<String> answer =
                node.send(
                        node.request("/v1/agents/" + name)
                                .PUT(HttpRequest.BodyPublishers.ofString(document))
                                .build());
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(status);
        return answer;
    }

    /** Waits until {@code node} knows the agent: the other node's change reached it. */
    private static void awaitAgent(TestNode node, String agent) throws Exception {
        awaitTrue(
                () -> node.get("/v1/agents/" + agent).statusCode() == 200,
                "node never learned of " + agent);
    }

    private static void awaitTrue(BooleanSupplier condition, String failure) throws Exception {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(failure).isLessThan(deadline);
            Thread.sleep(50);
        }
    }
}
