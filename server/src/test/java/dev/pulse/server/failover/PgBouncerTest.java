package dev.pulse.server.failover;

import static dev.pulse.server.failover.Probes.PATIENCE;
import static dev.pulse.server.failover.Probes.await;
import static dev.pulse.server.failover.Probes.count;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.testing.CallbackReceiver;
import dev.pulse.workers.testing.TestDatabase;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Pulse behind a real PgBouncer in transaction pooling mode ({@code PULSE_DATABASE_POOLER=
 * transaction}), started by the test on a free port with fewer server connections than the node's
 * pool: the main flows (queue, run, callback; a batch; a schedule's ticks; cancelling a waiting and
 * a running task) work with no session state and no server-side prepared statement surviving a
 * transaction. Wake-ups come by polling when there is no direct connection, and through LISTEN on
 * {@code PULSE_DATABASE_LISTEN_URL} when there is one (migrations then also go that way).
 */
class PgBouncerTest {

    private final ObjectMapper json = new ObjectMapper();

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void theMainFlowsRunThroughPgBouncerInTransactionModeWakingUpByPolling() throws Exception {
        run(false);
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void theMainFlowsRunThroughPgBouncerInTransactionModeListeningOnADirectConnection()
            throws Exception {
        run(true);
    }

    private void run(boolean direct) throws Exception {
        var binary = PgBouncer.binary();
        if (binary.isEmpty()) {
            System.err.println(
                    "!!! PgBouncerTest SKIPPED: no pgbouncer binary (run scripts/pgbouncer.sh, which"
                            + " installs Debian's pgbouncer package, or set PULSE_PGBOUNCER)");
        }
        Assumptions.assumeTrue(
                binary.isPresent(),
                "no pgbouncer: run scripts/pgbouncer.sh or set PULSE_PGBOUNCER");
        DatabaseUrl database = TestDatabase.create();
        Jdbi underneath = Jdbi.create(database.jdbcUrl());
        Path work = PostgresCluster.workDirectory();
        try (PgBouncer bouncer = PgBouncer.start(binary.get(), database, work);
                CallbackReceiver receiver = new CallbackReceiver()) {
            Map<String, String> env = new HashMap<>();
            env.put("PULSE_DATABASE_POOLER", "transaction");
            if (direct) {
                env.put("PULSE_DATABASE_LISTEN_URL", database.jdbcUrl());
            }
            try (TestNode node =
                    new TestNode(new DatabaseUrl(bouncer.jdbcUrl(), null, null), env)) {
                // Queue, run, call back.
                HttpResponse<String> created =
                        node.post(
                                "/v1/tasks",
                                "{\"agent\": \"echo\", \"input\": {\"via\": \"pgbouncer\"},"
                                        + " \"callback_url\": \""
                                        + receiver.url("/hook")
                                        + "\"}");
                assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
                String id = json.readTree(created.body()).path("id").asText();
                CallbackReceiver.Received callback = receiver.next(PATIENCE);
                JsonNode event = json.readTree(callback.body());
                assertThat(event.path("type").asText()).isEqualTo("task.succeeded");
                assertThat(event.path("data").path("id").asText()).isEqualTo(id);
                assertThat(callback.header("webhook-id")).isNotBlank();
                assertThat(state(node, id)).isEqualTo("succeeded");

                // A batch, claimed and finished over many transactions on shared server
                // connections.
                StringBuilder batch = new StringBuilder("{\"tasks\": [");
                for (int i = 0; i < 100; i++) {
                    batch.append(i == 0 ? "" : ",")
                            .append("{\"agent\": \"echo\", \"input\": {\"i\": ")
                            .append(i)
                            .append("}}");
                }
                HttpResponse<String> queued = node.post("/v1/tasks/batch", batch + "]}");
                assertThat(queued.statusCode()).as(queued.body()).isEqualTo(200);
                await(
                        "the batch succeeded",
                        () ->
                                count(
                                                underneath,
                                                "SELECT count(*) FROM tasks WHERE state = 'succeeded'")
                                        == 101);

                // A schedule's ticks.
                HttpResponse<String> schedule =
                        node.send(
                                node.request("/v1/schedules/ticker")
                                        .PUT(
                                                HttpRequest.BodyPublishers.ofString(
                                                        "{\"cron\": \"* * * * * ?\", \"agent\": \"echo\"}"))
                                        .build());
                assertThat(schedule.statusCode()).as(schedule.body()).isEqualTo(201);
                await(
                        "three ticks ran",
                        () ->
                                count(
                                                underneath,
                                                "SELECT count(*) FROM tasks WHERE schedule_name = 'ticker' AND state = 'succeeded'")
                                        >= 3);
                assertThat(node.post("/v1/schedules/ticker/pause", "").statusCode()).isEqualTo(200);
                HttpResponse<String> ticks = node.get("/v1/tasks?schedule=ticker");
                assertThat(ticks.statusCode()).isEqualTo(200);
                assertThat(json.readTree(ticks.body()).path("items").size())
                        .isGreaterThanOrEqualTo(3);

                // Cancel a waiting task at once, and a running one within a heartbeat.
                String waiting =
                        idOf(
                                node.post(
                                        "/v1/tasks",
                                        "{\"agent\": \"echo\", \"delay_seconds\": 600}"));
                HttpResponse<String> cancelled = node.post("/v1/tasks/" + waiting + "/cancel", "");
                assertThat(cancelled.statusCode()).as(cancelled.body()).isEqualTo(200);
                assertThat(json.readTree(cancelled.body()).path("state").asText())
                        .isEqualTo("cancelled");
                String running =
                        idOf(
                                node.post(
                                        "/v1/tasks",
                                        "{\"agent\": \"sleep\", \"input\": {\"ms\": 60000}}"));
                await("the sleep runs", () -> "running".equals(state(node, running)));
                assertThat(node.post("/v1/tasks/" + running + "/cancel", "").statusCode())
                        .isIn(200, 202);
                await(
                        "the running task is cancelled",
                        () -> "cancelled".equals(state(node, running)));

                Set<String> listening =
                        new HashSet<>(
                                underneath.withHandle(
                                        h ->
                                                h.createQuery(
                                                                "SELECT application_name FROM pg_stat_activity WHERE query = 'LISTEN pulse_tasks' AND datname = current_database()")
                                                        .mapTo(String.class)
                                                        .list()));
                if (direct) {
                    assertThat(listening).as("a LISTEN connection, direct").hasSize(1);
                } else {
                    assertThat(listening).as("no LISTEN without a direct connection").isEmpty();
                }
            } catch (AssertionError | RuntimeException e) {
                e.addSuppressed(new AssertionError("pgbouncer's log:\n" + bouncer.log()));
                throw e;
            }
        } finally {
            PostgresCluster.delete(work);
        }
    }

    private String idOf(HttpResponse<String> created) throws Exception {
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        return json.readTree(created.body()).path("id").asText();
    }

    private String state(TestNode node, String id) {
        try {
            return json.readTree(node.get("/v1/tasks/" + id).body()).path("state").asText();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
