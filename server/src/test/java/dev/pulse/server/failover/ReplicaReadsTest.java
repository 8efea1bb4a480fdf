package dev.pulse.server.failover;

import static dev.pulse.server.failover.Probes.applicationNames;
import static dev.pulse.server.failover.Probes.await;
import static dev.pulse.server.failover.Probes.count;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.workers.db.DatabaseUrl;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A node with {@code PULSE_DATABASE_REPLICA_URL} pointing at a real streaming standby (started from
 * the PostgreSQL server binaries): while the standby's replay is paused, a task just created is
 * found by {@code GET /v1/tasks/{id}} (the primary) but missing from {@code GET /v1/tasks} (the
 * replica, behind); once replay resumes, the list shows it. Every connection the node holds, on
 * both servers, is named {@code pulse-<node>} in {@code pg_stat_activity}.
 */
class ReplicaReadsTest {

    private final ObjectMapper json = new ObjectMapper();

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void listsAreReadFromTheReplicaAndATaskJustCreatedFromThePrimary() throws Exception {
        var bin = PostgresCluster.binaries();
        if (bin.isEmpty()) {
            System.err.println(
                    "!!! ReplicaReadsTest SKIPPED: no PostgreSQL server binaries (install Debian's"
                            + " postgresql package or set PULSE_TEST_PG_BINDIR)");
        }
        Assumptions.assumeTrue(
                bin.isPresent(),
                "no PostgreSQL server binaries: run scripts/postgresql.sh (installs Debian's"
                        + " postgresql package) or set PULSE_TEST_PG_BINDIR");
        Path work = PostgresCluster.workDirectory();
        try (PostgresCluster primary = PostgresCluster.primary(bin.get(), work);
                PostgresCluster standby = PostgresCluster.standbyOf(primary, work)) {
            Jdbi onPrimary = Jdbi.create(primary.jdbcUrl());
            Jdbi onStandby = Jdbi.create(standby.jdbcUrl());
            await(
                    "the standby streams",
                    () ->
                            count(
                                            onPrimary,
                                            "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
                                    == 1);
            try (TestNode node =
                    new TestNode(
                            new DatabaseUrl(primary.jdbcUrl(), null, null),
                            Map.of("PULSE_DATABASE_REPLICA_URL", standby.jdbcUrl()))) {
                String first = create(node);
                await("the first task is listed", () -> listed(node).contains(first));

                onStandby.useHandle(
                        h -> h.createQuery("SELECT pg_wal_replay_pause()").mapToMap().one());
                try {
                    await(
                            "replay paused",
                            () ->
                                    "paused"
                                            .equals(
                                                    onStandby.withHandle(
                                                            h ->
                                                                    h.createQuery(
                                                                                    "SELECT pg_get_wal_replay_pause_state()")
                                                                            .mapTo(String.class)
                                                                            .one())));
                    String second = create(node);
                    HttpResponse<String> found = node.get("/v1/tasks/" + second);
                    assertThat(found.statusCode())
                            .as("a task just created is read from the primary: %s", found.body())
                            .isEqualTo(200);
                    assertThat(listed(node))
                            .as("the list comes from the replica, whose replay is paused")
                            .contains(first)
                            .doesNotContain(second);
                    onStandby.useHandle(
                            h -> h.createQuery("SELECT pg_wal_replay_resume()").mapToMap().one());
                    await("the replica catches up", () -> listed(node).contains(second));
                } finally {
                    onStandby.useHandle(
                            h -> h.createQuery("SELECT pg_wal_replay_resume()").mapToMap().one());
                }

                HttpResponse<String> metrics = node.get("/metrics");
                assertThat(metrics.body())
                        .as("the replica's pool, which the metrics' queries use, reports itself")
                        .contains("pool=\"pulse-replica\"");

                String nodeId =
                        onPrimary.withHandle(
                                h ->
                                        h.createQuery("SELECT id FROM nodes")
                                                .mapTo(String.class)
                                                .one());
                String expected =
                        ("pulse-" + nodeId).substring(0, Math.min(63, 6 + nodeId.length()));
                // A backend still starting up has no name yet (state NULL): connected ones only.
                await(
                        "every connection of the node to the primary is named after it",
                        () -> Set.copyOf(applicationNames(onPrimary)).equals(Set.of(expected)));
                await(
                        "every connection of the node to the replica is named after it",
                        () -> Set.copyOf(applicationNames(onStandby)).equals(Set.of(expected)));
            }
        } finally {
            PostgresCluster.delete(work);
        }
    }

    private String create(TestNode node) throws Exception {
        HttpResponse<String> created = node.post("/v1/tasks", "{\"agent\": \"echo\"}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        return json.readTree(created.body()).path("id").asText();
    }

    private List<String> listed(TestNode node) {
        try {
            HttpResponse<String> r = node.get("/v1/tasks?limit=100");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            List<String> ids = new ArrayList<>();
            for (JsonNode t : json.readTree(r.body()).path("items")) {
                ids.add(t.path("id").asText());
            }
            return ids;
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
