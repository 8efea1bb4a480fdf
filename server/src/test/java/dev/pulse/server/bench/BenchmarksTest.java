package dev.pulse.server.bench;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.testing.TestDatabase;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The bench commands run end to end and print their summary lines in the documented form (no timing asserted). */
class BenchmarksTest {

    @Test
    void burnDownWithCallbacksFinishesEveryTaskAndPrintsItsSummary() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Benchmarks.burnDown(TestDatabase.create().jdbcUrl(), 0, 1500, true, new PrintStream(out, true, StandardCharsets.UTF_8));
        assertThat(out.toString(StandardCharsets.UTF_8))
                .containsPattern("(?m)^enqueue: 1500 tasks in [0-9.]+ s = [0-9]+ tasks/s$")
                .containsPattern("(?m)^burn-down: 1500 tasks in [0-9.]+ s = [0-9]+ tasks/s$")
                .containsPattern("(?m)^cpu while timed: this process \\(node and load generator\\) [0-9.]+ s = [0-9]+ µs per task")
                .containsPattern("(?m)^  of which the loopback receiver's handler threads \\(load generator, not Pulse\\): [1-9][0-9]* µs per task$");
    }

    @Test
    void aWarmUpRunIsMarkedSoThatOnlyTheTimedRunPrintsTheSummaryLines() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Benchmarks.burnDown(TestDatabase.create().jdbcUrl(), 400, 600, false, new PrintStream(out, true, StandardCharsets.UTF_8));
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
        Benchmarks.burnDown(null, 0, 300, false, new PrintStream(out, true, StandardCharsets.UTF_8));
        assertThat(out.toString(StandardCharsets.UTF_8)).containsPattern(
                "(?m)^cpu while timed: this process \\(node and load generator\\) [0-9.]+ s \\+ embedded database [0-9.]+ s"
                        + " = [0-9]+ \\+ [0-9]+ µs per task$");
    }

    @Test
    void latencyPrintsPercentiles() throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Benchmarks.latency(TestDatabase.create().jdbcUrl(), 30, new PrintStream(out, true, StandardCharsets.UTF_8));
        assertThat(out.toString(StandardCharsets.UTF_8))
                .containsPattern("(?m)^latency: p50=[0-9.]+ p95=[0-9.]+ p99=[0-9.]+ max=[0-9.]+ ms$");
    }
}
