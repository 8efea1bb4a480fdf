package dev.pulse.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.pulse.server.TestNode;
import dev.pulse.workers.db.Database;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.testing.TestDatabase;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM on a real {@code pulse serve}: it stops claiming, lets running attempts finish within
 * {@code PULSE_SHUTDOWN_GRACE}, hands back what is still running after it, leaves the {@code nodes}
 * table, and exits 0. The attempts are ended by events the test controls, not by how long they
 * sleep: one is held by a stand-in endpoint until after the SIGTERM, the other sleeps far longer
 * than anything here waits.
 */
class GracefulShutdownTest {

    private final ObjectMapper json = new ObjectMapper();
    private final HttpClient http =
            HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(5))
                    .build();

    @TempDir Path logs;

    /**
     * How long anything awaited here may take on a busy machine; the happy path returns as soon as
     * it holds.
     */
    private static final Duration PATIENCE = Duration.ofMinutes(2);

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void anAttemptThatEndsWithinTheGraceFinishesAndTheProcessExitsZero() throws Exception {
        long testStart = System.nanoTime();
        DatabaseUrl database = migratedDatabase();
        Jdbi jdbi = Jdbi.create(database.jdbcUrl());
        Map<String, String> env = new HashMap<>(TestNode.baseEnvironment(database));
        env.put("PULSE_SHUTDOWN_GRACE", "120s");

        // The attempt's function answers only when the test says so: after the SIGTERM.
        CountDownLatch called = new CountDownLatch(1);
        CountDownLatch answer = new CountDownLatch(1);
        HttpServer function =
                HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        function.setExecutor(Executors.newCachedThreadPool());
        function.createContext(
                "/held",
                exchange -> {
                    exchange.getRequestBody().readAllBytes();
                    called.countDown();
                    try {
                        answer.await(5, TimeUnit.MINUTES);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    byte[] body = "{\"answered\": true}".getBytes(StandardCharsets.UTF_8);
                    exchange.getResponseHeaders().add("Content-Type", "application/json");
                    exchange.sendResponseHeaders(200, body.length);
                    exchange.getResponseBody().write(body);
                    exchange.close();
                });
        function.start();

        try (PulseProcess node =
                PulseProcess.start("grace-finishes", env, logs).awaitReady(PATIENCE)) {
            putAgent(
                    node,
                    "held",
                    "{\"executor\": \"serverless\", \"timeout\": \"5m\", \"serverless\": {\"url\": "
                            + "\"http://127.0.0.1:"
                            + function.getAddress().getPort()
                            + "/held\", \"retries\": 0}}");
            String id = create(node, "{\"agent\": \"held\", \"input\": {}}");
            assertThat(called.await(PATIENCE.toMillis(), TimeUnit.MILLISECONDS))
                    .as("the attempt called its function:\n%s", node.logTail())
                    .isTrue();
            awaitState(node, id, "running");
            awaitNodeRow(jdbi, node);

            Instant sigterm = Instant.now();
            long stopStart = System.nanoTime();
            CompletableFuture<Integer> stopped =
                    CompletableFuture.supplyAsync(
                            () -> {
                                try {
                                    return node.terminate(PATIENCE);
                                } catch (InterruptedException e) {
                                    throw new IllegalStateException(e);
                                }
                            });
            awaitLog(node, "shutting down"); // the node got the SIGTERM and is draining
            assertThat(stopped).as("the node waits for its running attempt").isNotDone();
            answer.countDown();
            int exit = stopped.get(PATIENCE.toMillis() + 10_000, TimeUnit.MILLISECONDS);
            long stopMs = millisSince(stopStart);

            assertThat(exit).as("exit status after SIGTERM:\n%s", node.logTail()).isZero();
            Map<String, Object> task =
                    row(
                            jdbi,
                            "SELECT state, attempts, finished_at, lease_token FROM tasks WHERE id = CAST(? AS uuid)",
                            id);
            assertThat(task.get("state"))
                    .as("the attempt finished within the grace:\n%s", node.logTail())
                    .isEqualTo("succeeded");
            assertThat(((Number) task.get("attempts")).intValue()).isEqualTo(1);
            assertThat(task.get("lease_token")).isNull();
            Instant finished = ((Timestamp) task.get("finished_at")).toInstant();
            assertThat(finished)
                    .as("the attempt ended after SIGTERM: the node waited for it")
                    .isAfter(sigterm);
            assertThat(outcomes(jdbi, id)).containsExactly("succeeded");
            assertThat(nodeRows(jdbi, node)).as("nodes row of the stopped process").isZero();

            System.out.printf(
                    "graceful shutdown (finishes in grace): exit=%d stop_ms=%d task=succeeded "
                            + "finished_after_sigterm_ms=%d wall_ms=%d%n",
                    exit,
                    stopMs,
                    Duration.between(sigterm, finished).toMillis(),
                    millisSince(testStart));
        } finally {
            answer.countDown();
            function.stop(0);
        }
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void anAttemptStillRunningAfterTheGraceIsReleasedBackToTheQueue() throws Exception {
        long testStart = System.nanoTime();
        DatabaseUrl database = migratedDatabase();
        Jdbi jdbi = Jdbi.create(database.jdbcUrl());
        Map<String, String> env = new HashMap<>(TestNode.baseEnvironment(database));
        env.put("PULSE_SHUTDOWN_GRACE", "1s");

        try (PulseProcess node =
                PulseProcess.start("grace-releases", env, logs).awaitReady(PATIENCE)) {
            // Sleeps far longer than the stop may take, so a node that waited for it would be
            // caught by the outcome.
            String id = create(node, "{\"agent\": \"sleep\", \"input\": {\"ms\": 240000}}");
            awaitState(node, id, "running");
            awaitNodeRow(jdbi, node);

            long stopStart = System.nanoTime();
            int exit = node.terminate(PATIENCE); // fails the test if it takes longer
            long stopMs = millisSince(stopStart);

            assertThat(exit).as("exit status after SIGTERM:\n%s", node.logTail()).isZero();
            Map<String, Object> task =
                    row(
                            jdbi,
                            "SELECT state, attempts, finished_at, lease_token, lease_owner, lease_expires_at FROM tasks WHERE id = CAST(? AS uuid)",
                            id);
            assertThat(task.get("state"))
                    .as("handed back to the queue:\n%s", node.logTail())
                    .isEqualTo("queued");
            assertThat(task.get("lease_token")).isNull();
            assertThat(task.get("lease_owner")).isNull();
            assertThat(task.get("lease_expires_at")).isNull();
            assertThat(task.get("finished_at")).isNull();
            assertThat(outcomes(jdbi, id)).as("attempt outcomes").containsExactly("released");
            assertThat(nodeRows(jdbi, node)).as("nodes row of the stopped process").isZero();

            System.out.printf(
                    "graceful shutdown (released after grace 1s): exit=%d stop_ms=%d task=queued attempt=released "
                            + "wall_ms=%d%n",
                    exit, stopMs, millisSince(testStart));
        }
    }

    private static DatabaseUrl migratedDatabase() {
        DatabaseUrl database = TestDatabase.create();
        try (Database db = Database.connect(database, 2)) {
            db.migrate();
        }
        return database;
    }

    private String create(PulseProcess node, String body) throws Exception {
        HttpResponse<String> created =
                http.send(
                        HttpRequest.newBuilder(URI.create(node.url("/v1/tasks")))
                                .header("Authorization", "Bearer " + TestNode.ADMIN_KEY)
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(body))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        return json.readTree(created.body()).path("id").asText();
    }

    private void awaitState(PulseProcess node, String id, String state) throws Exception {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        String seen = null;
        while (System.nanoTime() < deadline) {
            JsonNode task =
                    json.readTree(
                            http.send(
                                            HttpRequest.newBuilder(
                                                            URI.create(node.url("/v1/tasks/" + id)))
                                                    .header(
                                                            "Authorization",
                                                            "Bearer " + TestNode.ADMIN_KEY)
                                                    .build(),
                                            HttpResponse.BodyHandlers.ofString())
                                    .body());
            seen = task.path("state").asText();
            if (state.equals(seen)) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError(
                "task "
                        + id
                        + " never became "
                        + state
                        + " (last: "
                        + seen
                        + "):\n"
                        + node.logTail());
    }

    private static void awaitNodeRow(Jdbi jdbi, PulseProcess node) throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (nodeRows(jdbi, node) == 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(
                        "no nodes row for pid " + node.pid() + ":\n" + node.logTail());
            }
            Thread.sleep(50);
        }
    }

    private static void awaitLog(PulseProcess node, String text) throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (!node.logContains(text)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(
                        "no \""
                                + text
                                + "\" in the log of "
                                + node.name()
                                + ":\n"
                                + node.logTail());
            }
            Thread.sleep(50);
        }
    }

    private void putAgent(PulseProcess node, String name, String spec) throws Exception {
        HttpResponse<String> put =
                http.send(
                        HttpRequest.newBuilder(URI.create(node.url("/v1/agents/" + name)))
                                .header("Authorization", "Bearer " + TestNode.ADMIN_KEY)
                                .header("Content-Type", "application/json")
                                .PUT(
                                        HttpRequest.BodyPublishers.ofString(
                                                "{\"apiVersion\": \"pulse/v1\", \"kind\": \"Agent\", "
                                                        + "\"metadata\": {\"name\": \""
                                                        + name
                                                        + "\"}, \"spec\": "
                                                        + spec
                                                        + "}"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(put.statusCode()).as(put.body()).isIn(200, 201);
    }

    private static long nodeRows(Jdbi jdbi, PulseProcess node) {
        return jdbi.withHandle(
                h ->
                        h.createQuery("SELECT count(*) FROM nodes WHERE pid = :pid")
                                .bind("pid", node.pid())
                                .mapTo(Long.class)
                                .one());
    }

    private static Map<String, Object> row(Jdbi jdbi, String sql, String id) {
        return jdbi.withHandle(h -> h.createQuery(sql).bind(0, id).mapToMap().one());
    }

    private static List<String> outcomes(Jdbi jdbi, String id) {
        return jdbi.withHandle(
                h ->
                        h.createQuery(
                                        "SELECT coalesce(outcome, 'open') FROM ended_attempts WHERE task_id = CAST(:id AS uuid) ORDER BY attempt")
                                .bind("id", id)
                                .mapTo(String.class)
                                .list());
    }

    private static long millisSince(long nanos) {
        return (System.nanoTime() - nanos) / 1_000_000;
    }
}
