package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code /metrics} in Prometheus format: queue counters per agent, run durations, lag, JVM and pool. */
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
        pulse.post("/v1/tasks", "{\"agent\": \"sleep\", \"input\": {\"ms\": \"x\"}, \"max_attempts\": 1}");
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (pulse.count("SELECT count(*) FROM tasks WHERE state IN ('succeeded', 'failed')") < 4 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }

        HttpResponse<String> scrape = pulse.get("/metrics");
        assertThat(scrape.statusCode()).isEqualTo(200);
        assertThat(scrape.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
        String text = scrape.body();
        assertThat(text).contains("pulse_tasks_queued_total{agent=\"echo\"} 3.0")
                .contains("pulse_tasks_finished_total{agent=\"echo\",outcome=\"succeeded\"} 3.0")
                .contains("pulse_tasks_finished_total{agent=\"sleep\",outcome=\"failed\"} 1.0")
                .contains("pulse_task_run_seconds_bucket{agent=\"echo\"")
                .contains("pulse_queue_lag_seconds")
                .contains("jvm_memory_used_bytes")
                .contains("hikaricp_connections");
    }

    @Test
    void needsAKeyWithTheMetricsScope() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<Void> anonymous = http.send(HttpRequest.newBuilder(URI.create(pulse.url("/metrics"))).build(),
                HttpResponse.BodyHandlers.discarding());
        assertThat(anonymous.statusCode()).isEqualTo(401);
    }
}
