package dev.pulse.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.server.TestNode;
import dev.pulse.server.api.docs.DocumentedHttp;
import dev.pulse.workers.db.Database;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.testing.TestDatabase;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two real {@code pulse serve} processes on one database share 5,000 tasks: every task runs exactly
 * once and none is left behind.
 */
class TwoNodesTest {

    private static final int TASKS = 5_000;

    @TempDir Path logs;

    @Test
    void twoProcessesRunEachTaskExactlyOnce() throws Exception {
        DatabaseUrl database = TestDatabase.create();
        try (Database db = Database.connect(database, 2)) {
            db.migrate(); // once up front, so the two nodes don't race to create the schema
        }
        Map<String, String> env = new HashMap<>(TestNode.baseEnvironment(database));
        env.put("PULSE_WORKER_CONCURRENCY", "8");
        env.put("PULSE_DATABASE_POOL_SIZE", "12");

        try (PulseProcess a = PulseProcess.start("node-a", env, logs);
                PulseProcess b = PulseProcess.start("node-b", env, logs)) {
            a.awaitReady(Duration.ofSeconds(90));
            b.awaitReady(Duration.ofSeconds(90));

            enqueue(List.of(a, b));

            Jdbi jdbi = Jdbi.create(database.jdbcUrl());
            long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
            long finished = 0;
            while (System.nanoTime() < deadline) {
                finished =
                        count(
                                jdbi,
                                "SELECT count(*) FROM tasks WHERE state IN ('succeeded', 'failed', 'cancelled')");
                if (finished == TASKS) {
                    break;
                }
                Thread.sleep(200);
            }
            assertThat(finished)
                    .as(
                            "finished tasks; node-a log:\n%s\nnode-b log:\n%s",
                            a.logTail(), b.logTail())
                    .isEqualTo(TASKS);

            assertThat(count(jdbi, "SELECT count(*) FROM tasks WHERE state = 'succeeded'"))
                    .isEqualTo(TASKS);
            assertThat(count(jdbi, "SELECT count(*) FROM tasks WHERE attempts <> 1")).isZero();
            assertThat(count(jdbi, "SELECT count(*) FROM ended_attempts"))
                    .as("one execution per task")
                    .isEqualTo(TASKS);
            assertThat(
                            count(
                                    jdbi,
                                    "SELECT count(*) FROM ended_attempts WHERE outcome <> 'succeeded'"))
                    .isZero();
            assertThat(count(jdbi, "SELECT count(DISTINCT node) FROM ended_attempts"))
                    .as("both nodes worked")
                    .isEqualTo(2);
            assertThat(count(jdbi, "SELECT count(*) FROM tasks WHERE result->>'n' IS NULL"))
                    .isZero();

            a.terminate(Duration.ofMinutes(2));
            b.terminate(Duration.ofMinutes(2));
        }
    }

    /** Queues the tasks over HTTP, alternating between the nodes, 32 requests in flight. */
    private static void enqueue(List<PulseProcess> nodes) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        Semaphore inFlight = new Semaphore(32);
        AtomicInteger created = new AtomicInteger();
        List<CompletableFuture<?>> calls = new ArrayList<>();
        for (int i = 0; i < TASKS; i++) {
            inFlight.acquire();
            HttpRequest request =
                    HttpRequest.newBuilder(URI.create(nodes.get(i % nodes.size()).url("/v1/tasks")))
                            .header("Content-Type", "application/json")
                            .header("Authorization", "Bearer " + TestNode.ADMIN_KEY)
                            .POST(
                                    HttpRequest.BodyPublishers.ofString(
                                            "{\"agent\": \"echo\", \"input\": {\"n\": " + i + "}}"))
                            .build();
            calls.add(
                    http.sendAsync(request, HttpResponse.BodyHandlers.ofString())
                            .thenApply(DocumentedHttp::checked)
                            .whenComplete(
                                    (r, e) -> {
                                        inFlight.release();
                                        if (e == null && r.statusCode() == 201) {
                                            created.incrementAndGet();
                                        }
                                    }));
        }
        CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).join();
        assertThat(created.get()).isEqualTo(TASKS);
    }

    private static long count(Jdbi jdbi, String sql) {
        return jdbi.withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
    }
}
