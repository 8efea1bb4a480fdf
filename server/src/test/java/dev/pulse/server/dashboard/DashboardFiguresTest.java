package dev.pulse.server.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.server.TestNode;
import dev.pulse.workers.testing.MutableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Where the overview's figures come from: the per-minute rollup of finished work, and capped
 * counts.
 */
class DashboardFiguresTest {

    private static TestNode node;

    @BeforeAll
    static void start() {
        node = new TestNode();
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    @Test
    void finishedAttemptsAreRolledUpPerMinuteAndAgentByTheNodeThatRanThem() throws Exception {
        for (int i = 0; i < 3; i++) {
            assertThat(node.post("/v1/tasks", "{\"agent\": \"echo\", \"input\": {}}").statusCode())
                    .isEqualTo(201);
        }
        assertThat(
                        node.post(
                                        "/v1/tasks",
                                        "{\"agent\": \"sleep\", \"input\": {\"ms\": -1}, \"max_attempts\": 1}")
                                .statusCode())
                .isEqualTo(201);
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline
                && node.count("SELECT coalesce(sum(succeeded + failed), 0) FROM dashboard_minutes")
                        < 4) {
            Thread.sleep(200);
        }
        assertThat(
                        node.count(
                                "SELECT coalesce(sum(succeeded), 0) FROM dashboard_minutes WHERE agent = 'echo'"))
                .isEqualTo(3);
        assertThat(
                        node.count(
                                "SELECT coalesce(sum(failed), 0) FROM dashboard_minutes WHERE agent = 'sleep'"))
                .isEqualTo(1);
        assertThat(node.count("SELECT count(DISTINCT node) FROM dashboard_minutes")).isEqualTo(1);
        assertThat(node.count("SELECT sum(runs) FROM dashboard_minutes")).isEqualTo(4);

        List<OverviewQueries.Minute> hour = new OverviewQueries(node.jdbi).lastHour();
        assertThat(hour).hasSize(60);
        assertThat(hour.stream().mapToLong(OverviewQueries.Minute::succeeded).sum()).isEqualTo(3);
        assertThat(hour.stream().mapToLong(OverviewQueries.Minute::failed).sum()).isEqualTo(1);
        assertThat(new OverviewQueries(node.jdbi).byAgent().get("echo").successRate())
                .isEqualTo("100.0%");
    }

    @Test
    void countsStopAtTheCapInsteadOfCountingEveryRow() {
        node.jdbi.useHandle(
                h ->
                        h.execute(
                                """
                INSERT INTO tasks (id, agent, state, input, max_attempts, timeout_seconds, run_at, finished_at)
                SELECT gen_random_uuid(), 'bulk', 'cancelled', '{}', 1, 1, now(), now() FROM generate_series(1, 10050)
                """));
        List<OverviewQueries.StateCount> counts = new OverviewQueries(node.jdbi).stateCounts();
        assertThat(counts)
                .filteredOn(c -> c.state().equals("cancelled"))
                .singleElement()
                .satisfies(c -> assertThat(c.shown()).isEqualTo("10,000+"));
        assertThat(counts)
                .extracting(OverviewQueries.StateCount::state)
                .containsExactly(
                        "scheduled", "queued", "running", "succeeded", "failed", "cancelled");
    }

    @Test
    void aFinishedCountPastTheCapIsKeptAMinuteWhileUnfinishedOnesAreCountedAtEveryRefresh() {
        MutableClock clock = new MutableClock(Instant.parse("2026-12-07T12:00:00Z"));
        OverviewQueries queries = new OverviewQueries(node.jdbi, clock);
        node.jdbi.useHandle(
                h ->
                        h.execute(
                                """
                INSERT INTO tasks (id, agent, state, input, max_attempts, timeout_seconds, run_at, finished_at)
                SELECT gen_random_uuid(), 'kept', 'failed', '{}', 1, 1, now(), now() FROM generate_series(1, 10050)
                """));
        assertThat(shown(queries, "failed")).isEqualTo("10,000+");

        node.jdbi.useHandle(h -> h.execute("DELETE FROM tasks WHERE agent = 'kept'"));
        assertThat(
                        node.post("/v1/tasks", "{\"agent\": \"echo\", \"delay_seconds\": 3600}")
                                .statusCode())
                .isEqualTo(201);
        clock.advance(Duration.ofSeconds(59));
        assertThat(shown(queries, "failed")).as("kept for a minute").isEqualTo("10,000+");
        assertThat(shown(queries, "scheduled")).as("counted at once").isNotEqualTo("0");

        clock.advance(Duration.ofSeconds(2));
        assertThat(shown(queries, "failed"))
                .as("counted again after a minute")
                .isNotEqualTo("10,000+");
    }

    private static String shown(OverviewQueries queries, String state) {
        return queries.stateCounts().stream()
                .filter(c -> c.state().equals(state))
                .findFirst()
                .orElseThrow()
                .shown();
    }

    @Test
    void theChartScaleIsARoundNumber() {
        assertThat(ThroughputChart.niceCeiling(1)).isEqualTo(1);
        assertThat(ThroughputChart.niceCeiling(3)).isEqualTo(5);
        assertThat(ThroughputChart.niceCeiling(21)).isEqualTo(50);
        assertThat(ThroughputChart.niceCeiling(101)).isEqualTo(200);
    }
}
