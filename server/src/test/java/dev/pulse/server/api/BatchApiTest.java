package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import java.net.http.HttpResponse;
import java.time.Instant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code POST /v1/tasks/batch}: per-item results, one bad item never keeps the good ones out. */
class BatchApiTest {

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
    void eachItemIsCreatedDuplicateOrInvalidInOrder() throws Exception {
        HttpResponse<String> response =
                pulse.post(
                        "/v1/tasks/batch",
                        """
                {"tasks": [
                  {"agent": "echo", "input": {"n": 0}, "idempotency_key": "batch-a"},
                  {"agent": "echo", "input": {"n": 1}, "delay_seconds": 0.5, "priority": 3},
                  {"agent": "nope", "priority": "high"},
                  {"agent": "echo", "input": {"n": 3}, "idempotency_key": "batch-a"},
                  {"agent": "sleep", "input": {"ms": 1}, "idempotency_key": "batch-b"}
                ]}""");
        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode body = json.readTree(response.body());
        assertThat(body.path("created").asInt()).isEqualTo(3);
        assertThat(body.path("duplicates").asInt()).isEqualTo(1);
        assertThat(body.path("invalid").asInt()).isEqualTo(1);
        JsonNode items = body.path("items");
        assertThat(items)
                .extracting(i -> i.path("status").asText())
                .containsExactly("created", "created", "invalid", "duplicate", "created");
        assertThat(items.get(3).path("id")).isEqualTo(items.get(0).path("id"));
        assertThat(items.get(2).path("errors"))
                .extracting(e -> e.path("field").asText())
                .contains("agent", "priority");
        assertThat(items.get(1).path("state").asText()).isEqualTo("scheduled");
        assertThat(items.get(1).path("links").path("self").asText())
                .isEqualTo("/v1/tasks/" + items.get(1).path("id").asText());
        JsonNode delayed =
                json.readTree(pulse.get(items.get(1).path("links").path("self").asText()).body());
        assertThat(delayed.path("priority").asInt()).isEqualTo(3);
        assertThat(Instant.parse(items.get(1).path("run_at").asText()))
                .isEqualTo(Instant.parse(delayed.path("run_at").asText()));

        JsonNode again =
                json.readTree(
                        pulse.post(
                                        "/v1/tasks/batch",
                                        "{\"tasks\": [{\"agent\": \"sleep\", \"input\": {\"ms\": 1}, \"idempotency_key\": \"batch-b\"}]}")
                                .body());
        assertThat(again.path("items").get(0).path("status").asText()).isEqualTo("duplicate");
        assertThat(again.path("items").get(0).path("id")).isEqualTo(items.get(4).path("id"));

        long deadline = System.nanoTime() + 120_000_000_000L;
        while (pulse.count("SELECT count(*) FROM tasks WHERE state = 'succeeded'") < 3
                && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(pulse.count("SELECT count(*) FROM tasks")).isEqualTo(3);
        assertThat(pulse.count("SELECT count(*) FROM tasks WHERE state = 'succeeded'"))
                .isEqualTo(3);
    }

    @Test
    void aBadEnvelopeIsRefusedWhole() throws Exception {
        long before = pulse.count("SELECT count(*) FROM tasks");
        assertThat(pulse.post("/v1/tasks/batch", "{}").statusCode()).isEqualTo(400);
        assertThat(pulse.post("/v1/tasks/batch", "{\"tasks\": []}").statusCode()).isEqualTo(422);
        assertThat(
                        pulse.post(
                                        "/v1/tasks/batch",
                                        "{\"tasks\": [{\"agent\": \"echo\"}], \"x\": 1}")
                                .statusCode())
                .isEqualTo(422);
        StringBuilder tooMany = new StringBuilder("{\"tasks\": [");
        for (int i = 0; i < 1001; i++) {
            tooMany.append(i == 0 ? "" : ",").append("{\"agent\": \"echo\"}");
        }
        assertThat(pulse.post("/v1/tasks/batch", tooMany.append("]}").toString()).statusCode())
                .isEqualTo(422);
        assertThat(pulse.count("SELECT count(*) FROM tasks")).isEqualTo(before);
    }
}
