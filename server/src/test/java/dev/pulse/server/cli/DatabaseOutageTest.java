package dev.pulse.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.server.api.docs.DocumentedHttp;
import dev.pulse.workers.db.Database;
import dev.pulse.workers.db.DatabaseUrl;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real {@code pulse serve} whose PostgreSQL goes away and comes back: the process stays up, says
 * it is not ready, refuses new work with a 503 problem instead of failing, becomes ready again by
 * itself, and every task queued before the outage (some of them running through it) still ends
 * succeeded, its result written once.
 */
class DatabaseOutageTest {

    private static final int TASKS = 20;
    private static final int SLEEP_MS = 500;
    private static final Duration OUTAGE_AT_LEAST = Duration.ofSeconds(8);

    /**
     * How long anything awaited here may take on a busy machine; the happy path returns as soon as
     * it holds.
     */
    private static final Duration PATIENCE = Duration.ofMinutes(2);

    private final ObjectMapper json = new ObjectMapper();
    private final HttpClient http =
            HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(30))
                    .build();

    @TempDir Path work;

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void aNodeRidesOutADatabaseOutageAndFinishesEveryTaskQueuedBeforeIt() throws Exception {
        long testStart = System.nanoTime();
        try (RestartablePostgres pg = RestartablePostgres.start(work.resolve("pg"))) {
            DatabaseUrl url = new DatabaseUrl(pg.jdbcUrl(), null, null);
            try (Database db = Database.connect(url, 2)) {
                db.migrate();
            }
            Jdbi jdbi = Jdbi.create(pg.jdbcUrl());
            Map<String, String> env = new HashMap<>(TestNode.baseEnvironment(url));
            env.put("PULSE_WORKER_CONCURRENCY", "4");

            try (PulseProcess node = PulseProcess.start("outage-node", env, work)) {
                node.awaitReady(PATIENCE);

                List<String> ids = new ArrayList<>();
                for (int i = 0; i < TASKS; i++) {
                    HttpResponse<String> created =
                            post(
                                    node,
                                    "{\"agent\": \"sleep\", \"input\": {\"ms\": "
                                            + SLEEP_MS
                                            + "}}");
                    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
                    ids.add(json.readTree(created.body()).path("id").asText());
                }
                // Cut the database while the first tasks are done, some run and the rest wait.
                awaitCount(
                        jdbi,
                        "SELECT count(*) FROM tasks WHERE state = 'succeeded'",
                        4,
                        PATIENCE,
                        node);
                long runningAtCut =
                        count(jdbi, "SELECT count(*) FROM tasks WHERE state = 'running'");
                long queuedAtCut = count(jdbi, "SELECT count(*) FROM tasks WHERE state = 'queued'");
                long downAt = System.nanoTime();
                pg.stop();

                HttpResponse<String> live = get(node, "/health/live");
                assertThat(live.statusCode()).as("live while the database is down").isEqualTo(200);

                long readyStart = System.nanoTime();
                HttpResponse<String> ready = get(node, "/health/ready");
                long readyMs = millisSince(readyStart);
                assertThat(ready.statusCode())
                        .as("ready while the database is down: %s", ready.body())
                        .isEqualTo(503);

                long postStart = System.nanoTime();
                HttpResponse<String> refused =
                        post(node, "{\"agent\": \"echo\", \"input\": {\"during\": \"outage\"}}");
                long postMs = millisSince(postStart);
                assertThat(refused.statusCode())
                        .as("POST while the database is down: %s", refused.body())
                        .isEqualTo(503);
                assertThat(refused.headers().firstValue("Content-Type").orElse(""))
                        .startsWith("application/problem+json");
                JsonNode problem = json.readTree(refused.body());
                assertThat(problem.path("status").asInt()).isEqualTo(503);
                assertThat(problem.path("title").asText()).isNotBlank();

                // Keep it down for several leases, so every lease held at the cut has expired by
                // the database clock.
                long stillDown = OUTAGE_AT_LEAST.toMillis() - millisSince(downAt);
                if (stillDown > 0) {
                    Thread.sleep(stillDown);
                }
                assertThat(node.isAlive())
                        .as("the node survives the outage:\n%s", node.logTail())
                        .isTrue();
                assertThat(get(node, "/health/live").statusCode()).isEqualTo(200);

                pg.start();
                long outageMs = millisSince(downAt);
                long upAt = System.nanoTime();
                long readyAgainMs = -1;
                while (millisSince(upAt) < PATIENCE.toMillis()) {
                    if (get(node, "/health/ready").statusCode() == 200) {
                        readyAgainMs = millisSince(upAt);
                        break;
                    }
                    Thread.sleep(100);
                }
                assertThat(readyAgainMs)
                        .as(
                                "ready again by itself within %s of the database's return:\n%s",
                                PATIENCE, node.logTail())
                        .isNotNegative();

                awaitCount(
                        jdbi,
                        "SELECT count(*) FROM tasks WHERE state IN ('succeeded', 'failed', 'cancelled')",
                        TASKS,
                        PATIENCE,
                        node);
                long allDoneMs = millisSince(upAt);

                assertThat(count(jdbi, "SELECT count(*) FROM tasks"))
                        .as("nothing was stored by the refused POST")
                        .isEqualTo(TASKS);
                assertThat(count(jdbi, "SELECT count(*) FROM tasks WHERE state = 'failed'"))
                        .as("failed tasks")
                        .isZero();
                assertThat(count(jdbi, "SELECT count(*) FROM tasks WHERE state = 'succeeded'"))
                        .isEqualTo(TASKS);
                assertThat(
                                count(
                                        jdbi,
                                        "SELECT count(*) FROM tasks WHERE result->>'slept_ms' IS NULL"))
                        .isZero();
                assertThat(
                                count(
                                        jdbi,
                                        "SELECT count(*) FROM ended_attempts WHERE outcome = 'succeeded'"))
                        .as("one succeeded attempt per task: the result is written once")
                        .isEqualTo(TASKS);
                assertThat(
                                count(
                                        jdbi,
                                        """
                        SELECT count(*) FROM (SELECT task_id FROM ended_attempts WHERE outcome = 'succeeded'
                                               GROUP BY task_id HAVING count(*) = 1) once
                        """))
                        .isEqualTo(TASKS);
                assertThat(count(jdbi, "SELECT count(*) FROM ended_attempts WHERE outcome IS NULL"))
                        .as("attempts never closed")
                        .isZero();
                Map<String, Long> outcomes = outcomes(jdbi);
                assertThat(outcomes.keySet())
                        .as("attempt outcomes; a node that only lost its database keeps its leases")
                        .containsOnly("succeeded");

                for (String id : ids) {
                    JsonNode task = json.readTree(get(node, "/v1/tasks/" + id).body());
                    assertThat(task.path("state").asText()).as(id).isEqualTo("succeeded");
                }
                HttpResponse<String> after =
                        post(node, "{\"agent\": \"echo\", \"input\": {\"after\": \"outage\"}}");
                assertThat(after.statusCode())
                        .as("POST after the outage: %s", after.body())
                        .isEqualTo(201);

                int exit = node.terminate(PATIENCE);
                assertThat(exit).as("exit status after SIGTERM").isZero();

                System.out.printf(
                        "database outage test: tasks=%d running_at_cut=%d queued_at_cut=%d outage_ms=%d "
                                + "ready_503_in_ms=%d post_503_in_ms=%d ready_again_after_ms=%d all_done_after_ms=%d "
                                + "attempt_outcomes=%s wall_ms=%d%n",
                        TASKS,
                        runningAtCut,
                        queuedAtCut,
                        outageMs,
                        readyMs,
                        postMs,
                        readyAgainMs,
                        allDoneMs,
                        outcomes,
                        millisSince(testStart));
            }
        }
    }

    /**
     * A database restart of a couple of seconds, shorter than the pool's connection timeout, on two
     * nodes that both stay alive: leases expire by the database clock during it, but no rescuer may
     * take attempts from a node that is alive and renews as soon as it can reach the database again
     * (the Rescuer waits one lease after it regains the database), so an outage alone never fails a
     * task, not even one with a single attempt.
     */
    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void aShortOutageDoesNotMakeARescuerTakeAttemptsFromLiveNodes() throws Exception {
        long testStart = System.nanoTime();
        int tasks = 16;
        try (RestartablePostgres pg = RestartablePostgres.start(work.resolve("pg"))) {
            DatabaseUrl url = new DatabaseUrl(pg.jdbcUrl(), null, null);
            try (Database db = Database.connect(url, 2)) {
                db.migrate();
            }
            Jdbi jdbi = Jdbi.create(pg.jdbcUrl());
            Map<String, String> env = new HashMap<>(TestNode.baseEnvironment(url));
            env.put("PULSE_WORKER_CONCURRENCY", "8");

            try (PulseProcess a = PulseProcess.start("short-outage-a", env, work);
                    PulseProcess b = PulseProcess.start("short-outage-b", env, work)) {
                a.awaitReady(PATIENCE);
                b.awaitReady(PATIENCE);
                for (int i = 0; i < tasks; i++) {
                    HttpResponse<String> created =
                            post(
                                    i % 2 == 0 ? a : b,
                                    "{\"agent\": \"sleep\", \"input\": {\"ms\": 12000}, \"max_attempts\": 1}");
                    assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
                }
                // The outage comes once every task has started (not after a guess at how long that
                // takes); the
                // attempts sleep 12 s, so those started last are surely still running when it
                // lands.
                awaitCount(
                        jdbi, "SELECT count(*) FROM tasks WHERE attempts >= 1", tasks, PATIENCE, a);
                long runningAtCut =
                        count(jdbi, "SELECT count(*) FROM tasks WHERE state = 'running'");

                Duration outage = pg.restart(Duration.ofSeconds(2));
                assertThat(a.isAlive() && b.isAlive()).as("both nodes survive").isTrue();
                a.awaitReady(PATIENCE);
                b.awaitReady(PATIENCE);

                awaitCount(
                        jdbi,
                        "SELECT count(*) FROM tasks WHERE state IN ('succeeded', 'failed', 'cancelled')",
                        tasks,
                        PATIENCE,
                        a);
                Map<String, Long> outcomes = outcomes(jdbi);
                Map<String, Long> states = new HashMap<>();
                jdbi.withHandle(
                                h ->
                                        h.createQuery(
                                                        "SELECT state || coalesce(' ' || (error->>'code'), '') AS s, count(*) AS n FROM tasks GROUP BY 1")
                                                .mapToMap()
                                                .list())
                        .forEach(
                                r ->
                                        states.put(
                                                (String) r.get("s"),
                                                ((Number) r.get("n")).longValue()));
                List<String> lost =
                        jdbi.withHandle(
                                h ->
                                        h.createQuery(
                                                        """
                        SELECT a.node || ' task ' || a.task_id || ' started ' || a.started_at || ' lost ' || a.finished_at
                          FROM ended_attempts a WHERE a.outcome = 'lost' ORDER BY a.finished_at
                        """)
                                                .mapTo(String.class)
                                                .list());
                System.out.printf(
                        "short database outage: tasks=%d running_at_cut=%d outage_ms=%d task_states=%s "
                                + "attempt_outcomes=%s wall_ms=%d%n",
                        tasks,
                        runningAtCut,
                        outage.toMillis(),
                        states,
                        outcomes,
                        millisSince(testStart));
                lost.forEach(
                        l ->
                                System.out.println(
                                        "short database outage: attempt of a live node rescued: "
                                                + l));

                assertThat(runningAtCut)
                        .as("attempts running when the database went away")
                        .isPositive();
                assertThat(lost).as("attempts rescued from nodes that never died").isEmpty();
                assertThat(states)
                        .as("task states (single-attempt tasks)")
                        .isEqualTo(Map.of("succeeded", (long) tasks));
                assertThat(count(jdbi, "SELECT count(*) FROM ended_attempts"))
                        .as("one attempt per task")
                        .isEqualTo(tasks);
            }
        }
    }

    private HttpResponse<String> post(PulseProcess node, String body)
            throws IOException, InterruptedException {
        return DocumentedHttp.checked(
                http.send(
                        HttpRequest.newBuilder(URI.create(node.url("/v1/tasks")))
                                .timeout(Duration.ofSeconds(60))
                                .header("Authorization", "Bearer " + TestNode.ADMIN_KEY)
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(body))
                                .build(),
                        HttpResponse.BodyHandlers.ofString()));
    }

    private HttpResponse<String> get(PulseProcess node, String path)
            throws IOException, InterruptedException {
        return DocumentedHttp.checked(
                http.send(
                        HttpRequest.newBuilder(URI.create(node.url(path)))
                                .timeout(Duration.ofSeconds(60))
                                .header("Authorization", "Bearer " + TestNode.ADMIN_KEY)
                                .build(),
                        HttpResponse.BodyHandlers.ofString()));
    }

    private static void awaitCount(
            Jdbi jdbi, String sql, long atLeast, Duration timeout, PulseProcess node)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        long seen = -1;
        while (System.nanoTime() < deadline) {
            seen = count(jdbi, sql);
            if (seen >= atLeast) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError(
                "waited "
                        + timeout
                        + " for "
                        + sql
                        + " >= "
                        + atLeast
                        + ", last "
                        + seen
                        + "\n"
                        + node.logTail());
    }

    private static Map<String, Long> outcomes(Jdbi jdbi) {
        Map<String, Long> outcomes = new HashMap<>();
        jdbi.withHandle(
                        h ->
                                h.createQuery(
                                                "SELECT coalesce(outcome, 'open') AS o, count(*) AS n FROM ended_attempts GROUP BY 1")
                                        .mapToMap()
                                        .list())
                .forEach(
                        row ->
                                outcomes.put(
                                        (String) row.get("o"),
                                        ((Number) row.get("n")).longValue()));
        return outcomes;
    }

    private static long count(Jdbi jdbi, String sql) {
        return jdbi.withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
    }

    private static long millisSince(long nanos) {
        return (System.nanoTime() - nanos) / 1_000_000;
    }
}
