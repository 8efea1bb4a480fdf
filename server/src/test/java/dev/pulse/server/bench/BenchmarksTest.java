package dev.pulse.server.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.server.TestNode;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.testing.TestDatabase;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;

/**
 * The bench commands run end to end and print their summary lines in the documented form (no timing
 * asserted).
 */
class BenchmarksTest {

    @Test
    void burnDownWithCallbacksFinishesEveryTaskAndPrintsItsSummary() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Benchmarks.burnDown(
                TestDatabase.create().jdbcUrl(),
                0,
                1500,
                true,
                new PrintStream(out, true, StandardCharsets.UTF_8));
        assertThat(out.toString(StandardCharsets.UTF_8))
                .containsPattern("(?m)^enqueue: 1500 tasks in [0-9.]+ s = [0-9]+ tasks/s$")
                .containsPattern("(?m)^burn-down: 1500 tasks in [0-9.]+ s = [0-9]+ tasks/s$")
                .containsPattern(
                        "(?m)^cpu while timed: this process \\(node and load generator\\) [0-9.]+ s = [0-9]+ µs per task")
                .containsPattern(
                        "(?m)^  of which the load generator's threads \\(enqueue, not Pulse\\): [0-9]+ µs per task$")
                .containsPattern(
                        "(?m)^  of which the loopback receiver's handler threads \\(load generator, not Pulse\\): [1-9][0-9]* µs per task$");
    }

    @Test
    void httpLoadRunsEveryTaskAndPrintsItsSummaryLines() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Benchmarks.http(
                TestDatabase.create().jdbcUrl(),
                4,
                Duration.ofSeconds(2),
                true,
                new PrintStream(out, true, StandardCharsets.UTF_8));
        assertThat(out.toString(StandardCharsets.UTF_8))
                .containsPattern(
                        "(?m)^http: [1-9][0-9]* requests in [0-9.]+ s = [0-9]+ requests/s p50=[0-9.]+ p99=[0-9.]+ ms$")
                .containsPattern(
                        "(?m)^  4 connections; every task run [0-9.]+ s after the start; 0 requests not answered 201$")
                .containsPattern(
                        "(?m)^  of which the load generator's threads \\(not Pulse\\): [0-9]+ µs per task$")
                .containsPattern(
                        "(?m)^http get: [1-9][0-9]* requests in [0-9.]+ s = [0-9]+ requests/s p50=[0-9.]+ p99=[0-9.]+ ms$")
                .containsPattern(
                        "(?m)^  4 connections reading [1-9][0-9]* tasks by id; 0 requests not answered 200$");
    }

    @Test
    void aWarmUpRunIsMarkedSoThatOnlyTheTimedRunPrintsTheSummaryLines() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Benchmarks.burnDown(
                TestDatabase.create().jdbcUrl(),
                400,
                600,
                false,
                new PrintStream(out, true, StandardCharsets.UTF_8));
        String printed = out.toString(StandardCharsets.UTF_8);
        assertThat(printed)
                .containsPattern("(?m)^warm-up burn-down: 400 tasks in [0-9.]+ s = [0-9]+ tasks/s$")
                .containsPattern("(?m)^burn-down: 600 tasks in [0-9.]+ s = [0-9]+ tasks/s$")
                .doesNotContainPattern("(?m)^burn-down: 400 ")
                .doesNotContain("warning:");
    }

    @Test
    void onItsEmbeddedDatabaseTheBurnDownMeasuresTheDatabasesCpuToo() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Benchmarks.burnDown(
                null, 0, 300, false, new PrintStream(out, true, StandardCharsets.UTF_8));
        assertThat(out.toString(StandardCharsets.UTF_8))
                .containsPattern(
                        "(?m)^cpu while timed: this process \\(node and load generator\\) [0-9.]+ s \\+ embedded database [0-9.]+ s"
                                + " = [0-9]+ \\+ [0-9]+ µs per task$");
    }

    @Test
    void onADatabaseThatAlreadyHoldsPulseTheBenchUsesAKeyOfItsOwnAndRemovesItAndItsLimitedAgent()
            throws Exception {
        DatabaseUrl database = TestDatabase.create();
        try (TestNode before = new TestNode(database, Map.of())) {
            assertThat(before.count("SELECT count(*) FROM api_keys"))
                    .as("the node's own admin key")
                    .isEqualTo(1);
        }
        for (int run = 0; run < 2; run++) { // a second run meets what the first left
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            Benchmarks.burnDown(
                    database.jdbcUrl(),
                    0,
                    300,
                    false,
                    1,
                    2,
                    new PrintStream(out, true, StandardCharsets.UTF_8));
            assertThat(out.toString(StandardCharsets.UTF_8))
                    .contains("agent bench-limited with max_concurrency 1 present")
                    .contains("2 nodes claim")
                    .containsPattern("(?m)^burn-down: 300 tasks in [0-9.]+ s = [0-9]+ tasks/s$")
                    .doesNotContain("warning:");
        }
        Jdbi jdbi = Jdbi.create(database.jdbcUrl());
        List<String> keys =
                jdbi.withHandle(
                        h -> h.createQuery("SELECT name FROM api_keys").mapTo(String.class).list());
        assertThat(keys)
                .as("the bench's keys removed, the node's kept")
                .containsExactly("admin-from-config");
        long agents =
                jdbi.withHandle(
                        h ->
                                h.createQuery(
                                                "SELECT count(*) FROM agents WHERE name = 'bench-limited'")
                                        .mapTo(Long.class)
                                        .one());
        assertThat(agents).isZero();
    }

    @Test
    void onAnEmptyDatabaseTheBenchLeavesNoKeySoThatTheFirstRealStartGeneratesOne()
            throws Exception {
        DatabaseUrl database = TestDatabase.create();
        Benchmarks.burnDown(
                database.jdbcUrl(),
                0,
                100,
                false,
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        long keys =
                Jdbi.create(database.jdbcUrl())
                        .withHandle(
                                h ->
                                        h.createQuery("SELECT count(*) FROM api_keys")
                                                .mapTo(Long.class)
                                                .one());
        assertThat(keys).isZero();
    }

    @Test
    void latencyPrintsPercentiles() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Benchmarks.latency(
                TestDatabase.create().jdbcUrl(),
                30,
                new PrintStream(out, true, StandardCharsets.UTF_8));
        assertThat(out.toString(StandardCharsets.UTF_8))
                .containsPattern(
                        "(?m)^latency: p50=[0-9.]+ p95=[0-9.]+ p99=[0-9.]+ max=[0-9.]+ ms$");
    }
}
