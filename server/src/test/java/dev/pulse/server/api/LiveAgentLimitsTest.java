package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.testing.TestDatabase;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@code max_concurrency} set, raised or removed through {@code PUT /v1/agents/{name}} after the
 * nodes started holds on every node, like any other change to an agent. The agents observe their
 * own concurrency: one enters by creating a directory, which fails while another run is inside; the
 * others wait until as many runs as their limit allows are inside at once.
 */
class LiveAgentLimitsTest {

    private static final ObjectMapper json = new ObjectMapper();

    @TempDir Path dir;

    @Test
    void aLimitPutAfterStartHoldsAcrossTwoNodesAndARaisedOrRemovedLimitLetsMoreRun()
            throws Exception {
        DatabaseUrl database = TestDatabase.create();
        try (TestNode a = new TestNode(database, Map.of("PULSE_WORKER_CONCURRENCY", "4"));
                TestNode b = new TestNode(database, Map.of("PULSE_WORKER_CONCURRENCY", "4"))) {
            Path inside = dir.resolve("inside");
            Path overlaps = dir.resolve("overlaps");
            Path entries = dir.resolve("entries");
            HttpResponse<String> created =
                    put(
                            a,
                            agent(
                                    "one-at-a-time",
                                    1,
                                    60,
                                    """
                    echo x >> %2$s; if mkdir %1$s 2>/dev/null; then sleep 0.2; rmdir %1$s; else echo x >> %3$s; fi; cat"""
                                            .formatted(inside, entries, overlaps)));
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
            awaitVersion(b, "one-at-a-time", 60); // the other node has re-read the agents table

            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                ids.add(create(i % 2 == 0 ? a : b, "one-at-a-time"));
            }
            long mostRunning = 0;
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (!allSucceeded(a, ids)) {
                assertThat(System.nanoTime()).as("tasks never all succeeded").isLessThan(deadline);
                mostRunning =
                        Math.max(
                                mostRunning,
                                a.count(
                                        "SELECT count(*) FROM tasks WHERE agent = 'one-at-a-time' AND state = 'running'"));
                Thread.sleep(10);
            }
            assertThat(Files.readAllLines(entries)).as("every task ran").hasSize(8);
            assertThat(Files.exists(overlaps))
                    .as("a run entered while another was inside")
                    .isFalse();
            assertThat(mostRunning)
                    .as("running tasks of the agent sampled in the database")
                    .isLessThanOrEqualTo(1);

            // Raised to 2: each run waits until two are inside, so the tasks finish only if two run
            // at once.
            assertThat(
                            put(a, agent("one-at-a-time", 2, 61, barrier(dir.resolve("two"), 2)))
                                    .statusCode())
                    .isEqualTo(200);
            awaitVersion(b, "one-at-a-time", 61);
            assertThat(
                            allSucceed(
                                    a,
                                    List.of(
                                            create(a, "one-at-a-time"),
                                            create(b, "one-at-a-time"))))
                    .as("two ran at once under the raised limit")
                    .isTrue();

            // Removed: three at once.
            assertThat(
                            put(
                                            a,
                                            agent(
                                                    "one-at-a-time",
                                                    null,
                                                    62,
                                                    barrier(dir.resolve("three"), 3)))
                                    .statusCode())
                    .isEqualTo(200);
            awaitVersion(b, "one-at-a-time", 62);
            assertThat(
                            allSucceed(
                                    a,
                                    List.of(
                                            create(a, "one-at-a-time"),
                                            create(b, "one-at-a-time"),
                                            create(a, "one-at-a-time"))))
                    .as("three ran at once without a limit")
                    .isTrue();
        }
    }

    /**
     * A run that enters {@code dir} and waits (up to its timeout) until {@code n} runs are inside.
     */
    private static String barrier(Path dir, int n) {
        return "mkdir -p %1$s; touch %1$s/$$; while [ $(ls %1$s | wc -l) -lt %2$d ]; do sleep 0.05; done; cat"
                .formatted(dir, n);
    }

    /**
     * Each version of the agent has its own timeout, so a node's answer shows which version it
     * runs.
     */
    private static String agent(
            String name, Integer maxConcurrency, int timeoutSeconds, String script)
            throws Exception {
        var spec =
                json.createObjectNode()
                        .put("executor", "local")
                        .put("timeout", timeoutSeconds + "s")
                        .put("max_attempts", 1);
        if (maxConcurrency != null) {
            spec.put("max_concurrency", maxConcurrency);
        }
        spec.putObject("local").putArray("command").add("sh").add("-c").add(script);
        var document = json.createObjectNode().put("apiVersion", "pulse/v1").put("kind", "Agent");
        document.putObject("metadata").put("name", name);
        document.set("spec", spec);
        return json.writeValueAsString(document);
    }

    private static HttpResponse<String> put(TestNode node, String name, String body) {
        return node.send(
                node.request("/v1/agents/" + name)
                        .PUT(HttpRequest.BodyPublishers.ofString(body))
                        .build());
    }

    private static HttpResponse<String> put(TestNode node, String body) throws Exception {
        return put(node, json.readTree(body).path("metadata").path("name").asText(), body);
    }

    /**
     * Waits until {@code node} runs the version of {@code agent} whose timeout is {@code
     * timeoutSeconds}: a task queued before the other node has re-read the agents table could run
     * its previous version.
     */
    private static void awaitVersion(TestNode node, String agent, int timeoutSeconds)
            throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (true) {
            HttpResponse<String> answer = node.get("/v1/agents/" + agent);
            if (answer.statusCode() == 200
                    && json.readTree(answer.body()).path("timeout_seconds").asInt()
                            == timeoutSeconds) {
                return;
            }
            assertThat(System.nanoTime())
                    .as("node never learned of version " + timeoutSeconds + " of " + agent)
                    .isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    private static String create(TestNode node, String agent) throws Exception {
        HttpResponse<String> created =
                node.post("/v1/tasks", "{\"agent\": \"" + agent + "\", \"input\": {}}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        return json.readTree(created.body()).path("id").asText();
    }

    private static boolean allSucceeded(TestNode node, List<String> ids) throws Exception {
        for (String id : ids) {
            String state = json.readTree(node.get("/v1/tasks/" + id).body()).path("state").asText();
            assertThat(state).as("task " + id).isIn("queued", "scheduled", "running", "succeeded");
            if (!state.equals("succeeded")) {
                return false;
            }
        }
        return true;
    }

    /** Waits (generously) until every task ended; true when all succeeded. */
    private static boolean allSucceed(TestNode node, List<String> ids) throws Exception {
        long deadline = System.nanoTime() + 90_000_000_000L;
        while (System.nanoTime() < deadline) {
            boolean ended = true;
            for (String id : ids) {
                String state =
                        json.readTree(node.get("/v1/tasks/" + id).body()).path("state").asText();
                if (state.equals("failed") || state.equals("cancelled")) {
                    return false;
                }
                ended &= state.equals("succeeded");
            }
            if (ended) {
                return true;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("tasks never ended: " + ids);
    }
}
