package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import java.net.http.HttpResponse;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * docs/architecture.md invariant 8: every bad request gets a 4xx problem naming the field, and
 * writes nothing.
 */
class BadInputTest {

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

    @AfterEach
    void nothingWasWritten() {
        assertThat(pulse.count("SELECT count(*) FROM tasks")).isZero();
        assertThat(pulse.count("SELECT count(*) FROM callback_deliveries")).isZero();
    }

    static Stream<Arguments> badTaskRequests() {
        return Stream.of(
                Arguments.of("malformed JSON", "{\"agent\": \"echo\",", 400, "body"),
                Arguments.of("empty body", "", 400, "body"),
                Arguments.of("not an object", "[{\"agent\": \"echo\"}]", 400, "body"),
                Arguments.of("trailing garbage", "{\"agent\": \"echo\"} {}", 400, "body"),
                Arguments.of("missing agent", "{\"input\": {}}", 422, "agent"),
                Arguments.of("unknown agent", "{\"agent\": \"no-such-agent\"}", 422, "agent"),
                Arguments.of("agent of the wrong type", "{\"agent\": 42}", 422, "agent"),
                Arguments.of(
                        "input not an object",
                        "{\"agent\": \"echo\", \"input\": \"hello\"}",
                        422,
                        "input"),
                Arguments.of(
                        "metadata not an object",
                        "{\"agent\": \"echo\", \"metadata\": [1]}",
                        422,
                        "metadata"),
                Arguments.of(
                        "negative delay",
                        "{\"agent\": \"echo\", \"delay_seconds\": -5}",
                        422,
                        "delay_seconds"),
                Arguments.of(
                        "delay as a string",
                        "{\"agent\": \"echo\", \"delay_seconds\": \"5\"}",
                        422,
                        "delay_seconds"),
                Arguments.of(
                        "run_at and delay together",
                        "{\"agent\": \"echo\", \"delay_seconds\": 5, \"run_at\": \"2030-01-01T00:00:00Z\"}",
                        422,
                        "delay_seconds"),
                Arguments.of(
                        "run_at not a timestamp",
                        "{\"agent\": \"echo\", \"run_at\": \"tomorrow\"}",
                        422,
                        "run_at"),
                Arguments.of(
                        "run_at without an offset",
                        "{\"agent\": \"echo\", \"run_at\": \"2030-01-01T00:00:00\"}",
                        422,
                        "run_at"),
                Arguments.of(
                        "callback not http(s)",
                        "{\"agent\": \"echo\", \"callback_url\": \"ftp://example.com/x\"}",
                        422,
                        "callback_url"),
                Arguments.of(
                        "callback not a URL",
                        "{\"agent\": \"echo\", \"callback_url\": \"not a url\"}",
                        422,
                        "callback_url"),
                Arguments.of(
                        "callback without a host",
                        "{\"agent\": \"echo\", \"callback_url\": \"http:///path\"}",
                        422,
                        "callback_url"),
                Arguments.of(
                        "callback to a metadata address",
                        "{\"agent\": \"echo\", \"callback_url\": \"http://169.254.169.254/latest/meta-data\"}",
                        422,
                        "callback_url"),
                Arguments.of(
                        "callback to a private address",
                        "{\"agent\": \"echo\", \"callback_url\": \"http://10.0.0.8/hook\"}",
                        422,
                        "callback_url"),
                Arguments.of(
                        "callback of the wrong type",
                        "{\"agent\": \"echo\", \"callback_url\": 7}",
                        422,
                        "callback_url"),
                Arguments.of(
                        "priority as a string",
                        "{\"agent\": \"echo\", \"priority\": \"high\"}",
                        422,
                        "priority"),
                Arguments.of(
                        "priority fractional",
                        "{\"agent\": \"echo\", \"priority\": 1.5}",
                        422,
                        "priority"),
                Arguments.of(
                        "priority out of range",
                        "{\"agent\": \"echo\", \"priority\": 99999}",
                        422,
                        "priority"),
                Arguments.of(
                        "max_attempts zero",
                        "{\"agent\": \"echo\", \"max_attempts\": 0}",
                        422,
                        "max_attempts"),
                Arguments.of(
                        "max_attempts huge",
                        "{\"agent\": \"echo\", \"max_attempts\": 10000000000}",
                        422,
                        "max_attempts"),
                Arguments.of(
                        "timeout as a string",
                        "{\"agent\": \"echo\", \"timeout_seconds\": \"10\"}",
                        422,
                        "timeout_seconds"),
                Arguments.of(
                        "timeout zero",
                        "{\"agent\": \"echo\", \"timeout_seconds\": 0}",
                        422,
                        "timeout_seconds"),
                Arguments.of(
                        "unknown field",
                        "{\"agent\": \"echo\", \"callback\": \"http://x\"}",
                        422,
                        "callback"),
                Arguments.of(
                        "idempotency key empty",
                        "{\"agent\": \"echo\", \"idempotency_key\": \"\"}",
                        422,
                        "idempotency_key"),
                Arguments.of(
                        "idempotency key not a string",
                        "{\"agent\": \"echo\", \"idempotency_key\": 5}",
                        422,
                        "idempotency_key"),
                Arguments.of(
                        "retry not an object", "{\"agent\": \"echo\", \"retry\": 5}", 422, "retry"),
                Arguments.of(
                        "retry base negative",
                        "{\"agent\": \"echo\", \"retry\": {\"base_seconds\": -1}}",
                        422,
                        "retry.base_seconds"),
                Arguments.of(
                        "retry max below base",
                        "{\"agent\": \"echo\", \"retry\": {\"base_seconds\": 10, \"max_seconds\": 1}}",
                        422,
                        "retry.max_seconds"),
                Arguments.of(
                        "retry unknown field",
                        "{\"agent\": \"echo\", \"retry\": {\"jitter\": 1}}",
                        422,
                        "retry.jitter"),
                Arguments.of(
                        "NUL in a string",
                        "{\"agent\": \"echo\", \"input\": {\"t\": \"a\\u0000b\"}}",
                        422,
                        "task"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badTaskRequests")
    void badTaskRequestsGetAProblemNamingTheField(
            String description, String body, int status, String field) throws Exception {
        HttpResponse<String> response = pulse.post("/v1/tasks", body);

        assertThat(response.statusCode()).as(description).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type"))
                .contains("application/problem+json");
        JsonNode problem = json.readTree(response.body());
        assertThat(problem.path("status").asInt()).isEqualTo(status);
        assertThat(problem.path("title").asText()).isNotEmpty();
        assertThat(problem.path("detail").asText()).isNotEmpty();
        assertThat(problem.path("errors"))
                .extracting(e -> e.path("field").asText())
                .contains(field);
    }

    static Stream<Arguments> badListQueries() {
        return Stream.of(
                Arguments.of("/v1/tasks?state=done", "state"),
                Arguments.of("/v1/tasks?limit=0", "limit"),
                Arguments.of("/v1/tasks?limit=ten", "limit"),
                Arguments.of("/v1/tasks?limit=100000", "limit"),
                Arguments.of("/v1/tasks?cursor=garbage", "cursor"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badListQueries")
    void badListQueriesGetAProblemNamingTheParameter(String path, String field) throws Exception {
        HttpResponse<String> response = pulse.get(path);
        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(json.readTree(response.body()).path("errors"))
                .extracting(e -> e.path("field").asText())
                .containsExactly(field);
    }
}
