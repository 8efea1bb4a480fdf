package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.workers.metrics.QueueMetrics;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code /metrics} in Prometheus format: queue counters per agent, run durations, lag, JVM and
 * pool.
 */
class MetricsTest {

    private static final ObjectMapper json = new ObjectMapper();
    private static TestNode pulse;

    @BeforeAll
    static void start() {
        pulse = new TestNode();
    }

    @AfterAll
    static void stop() {
        pulse.close();
    }

    @Test
    void countsWhatTheQueueDidPerAgent() throws Exception {
        for (int i = 0; i < 3; i++) {
            pulse.post("/v1/tasks", "{\"agent\": \"echo\"}");
        }
        pulse.post(
                "/v1/tasks",
                "{\"agent\": \"sleep\", \"input\": {\"ms\": \"x\"}, \"max_attempts\": 1}");
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (pulse.count("SELECT count(*) FROM tasks WHERE state IN ('succeeded', 'failed')") < 4
                && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }

        HttpResponse<String> scrape = pulse.get("/metrics");
        assertThat(scrape.statusCode()).isEqualTo(200);
        assertThat(scrape.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
        String text = scrape.body();
        assertThat(text)
                .contains("pulse_tasks_queued_total{agent=\"echo\"} 3.0")
                .contains("pulse_attempts_finished_total{agent=\"echo\",outcome=\"succeeded\"} 3.0")
                .contains("pulse_attempts_finished_total{agent=\"sleep\",outcome=\"failed\"} 1.0")
                .contains("pulse_attempts_started_total{agent=\"echo\"} 3.0")
                .contains("pulse_attempt_run_seconds_bucket{agent=\"echo\",le=\"604800.0\"} 3")
                .contains("pulse_queue_lag_seconds")
                .contains("jvm_memory_used_bytes")
                .contains("hikaricp_connections")
                .as("names that said tasks where they count attempts")
                .doesNotContain("pulse_tasks_started")
                .doesNotContain("pulse_tasks_finished")
                .doesNotContain("pulse_task_run")
                .doesNotContain("pulse_callbacks_total");
    }

    /**
     * pulse_tasks_ready{agent}: due and unclaimed tasks, here on an API-only node, where nothing
     * claims them; tasks due later are not ready.
     */
    @Test
    void reportsTheTasksThatAreDueAndUnclaimedPerAgent() throws Exception {
        try (TestNode api =
                new TestNode(
                        dev.pulse.workers.testing.TestDatabase.create(),
                        java.util.Map.of("PULSE_ROLES", "api"))) {
            for (int i = 0; i < 3; i++) {
                assertThat(api.post("/v1/tasks", "{\"agent\": \"echo\"}").statusCode())
                        .isEqualTo(201);
            }
            api.post("/v1/tasks", "{\"agent\": \"sleep\", \"delay_seconds\": 3600}");
            String text = api.get("/metrics").body();
            assertThat(text)
                    .contains("# TYPE pulse_tasks_ready gauge")
                    .contains("pulse_tasks_ready{agent=\"echo\"} 3.0")
                    .doesNotContain("pulse_tasks_ready{agent=\"sleep\"}");
        }
    }

    @Test
    void theRunTimeHistogramsBucketsReachTheLongestTimeoutATaskMayHave() throws Exception {
        HttpResponse<String> tooLong =
                pulse.post(
                        "/v1/tasks",
                        "{\"agent\": \"echo\", \"timeout_seconds\": "
                                + (QueueMetrics.LONGEST_RUN.toSeconds() + 1)
                                + "}");
        assertThat(tooLong.statusCode())
                .as("the API's longest timeout is the histogram's: " + tooLong.body())
                .isBetween(400, 499);
        assertThat(
                        pulse.post(
                                        "/v1/tasks",
                                        "{\"agent\": \"echo\", \"timeout_seconds\": "
                                                + QueueMetrics.LONGEST_RUN.toSeconds()
                                                + "}")
                                .statusCode())
                .isEqualTo(201);
    }

    /**
     * Every background duty of a node with all roles reports its passes; the heartbeat beats at
     * once.
     */
    @Test
    void reportsThePassesOfEveryBackgroundDuty() throws Exception {
        Pattern beaten =
                Pattern.compile(
                        Pattern.quote(
                                        "pulse_duty_passes_total{duty=\"heartbeat\",outcome=\"succeeded\"}")
                                + " [1-9]");
        long deadline = System.nanoTime() + 60_000_000_000L;
        String scrape = pulse.get("/metrics").body();
        while (!beaten.matcher(scrape).find() && System.nanoTime() < deadline) {
            Thread.sleep(50);
            scrape = pulse.get("/metrics").body();
        }
        assertThat(scrape).as("the heartbeat has beaten").containsPattern(beaten);
        for (String duty :
                new String[] {
                    "agent-reports",
                    "agent-sync",
                    "dashboard-rollup",
                    "heartbeat",
                    "rescuer",
                    "retention-drops",
                    "retention-pruning",
                    "cron",
                    "worker",
                    "callback-dispatcher"
                }) {
            assertThat(scrape)
                    .contains("pulse_duty_passes_total{duty=\"" + duty + "\",outcome=\"failed\"}");
        }
    }

    /**
     * {@code promtool check metrics} (Prometheus's own linter) has nothing to say about any {@code
     * pulse_} metric of a real node's scrape after tasks ran, callbacks included.
     */
    @Test
    void promtoolFindsNoProblemWithPulsesMetrics() throws Exception {
        String promtool = promtoolOrSkip();
        pulse.post(
                "/v1/tasks",
                "{\"agent\": \"echo\", \"callback_url\": \"http://127.0.0.1:9/nowhere\"}");
        pulse.post("/v1/tasks", "{\"agent\": \"echo\"}");
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (pulse.count("SELECT count(*) FROM tasks WHERE state NOT IN ('succeeded', 'failed')")
                        > 0
                && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        String scrape = pulse.get("/metrics").body();
        assertThat(scrape)
                .contains("pulse_attempts_finished_total")
                .contains("pulse_attempt_run_seconds_bucket");

        Process check =
                new ProcessBuilder(promtool, "check", "metrics").redirectErrorStream(true).start();
        try (var stdin = check.getOutputStream()) {
            stdin.write(scrape.getBytes(StandardCharsets.UTF_8));
        }
        String said = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(check.waitFor(60, TimeUnit.SECONDS)).isTrue();
        System.err.println(
                "promtool check metrics on /metrics said (lines about other metrics are not Pulse's to fix):\n"
                        + said);
        assertThat(said.lines().filter(line -> line.contains("pulse_")).toList())
                .as("promtool said:%n%s", said)
                .isEmpty();
    }

    private static String promtoolOrSkip() {
        String configured = System.getenv("PULSE_PROMTOOL");
        for (String candidate :
                new String[] {configured, "/usr/bin/promtool", "/usr/local/bin/promtool"}) {
            if (candidate != null && Files.isExecutable(Path.of(candidate))) {
                return candidate;
            }
        }
        String reason =
                "!!! promtool is not available: the PROMTOOL CHECK OF /metrics IS SKIPPED. "
                        + "Install it with scripts/promtool.sh (as .ci/run does; it runs apt-get install prometheus).";
        System.err.println(reason);
        Assumptions.assumeTrue(false, reason);
        return null;
    }

    @Test
    void needsAKeyWithTheMetricsScope() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<Void> anonymous =
                http.send(
                        HttpRequest.newBuilder(URI.create(pulse.url("/metrics"))).build(),
                        HttpResponse.BodyHandlers.discarding());
        assertThat(anonymous.statusCode()).isEqualTo(401);
    }
}
