package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.standardwebhooks.Webhook;
import dev.pulse.server.TestNode;
import dev.pulse.workers.testing.CallbackReceiver;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The task API end to end: one real node, a real database, a real callback receiver on loopback.
 */
class TaskApiTest {

    private static final Duration WAIT = Duration.ofMinutes(2);
    private static final ObjectMapper json = new ObjectMapper();
    private static TestNode pulse;
    private static CallbackReceiver receiver;

    @BeforeAll
    static void start() {
        pulse = new TestNode();
        receiver = new CallbackReceiver();
    }

    @AfterAll
    static void stop() {
        pulse.close();
        receiver.close();
    }

    @Test
    void aQueuedTaskRunsAndItsSignedResultReachesTheCallbackUrl() throws Exception {
        HttpResponse<String> created =
                pulse.post(
                        "/v1/tasks",
                        """
                {"agent": "echo", "input": {"question": "ping"}, "callback_url": "%s",
                 "metadata": {"customer": "acme"}, "priority": 5}
                """
                                .formatted(receiver.url("/done")));

        assertThat(created.statusCode()).isEqualTo(201);
        JsonNode task = json.readTree(created.body());
        String id = task.path("id").asText();
        assertThat(task.path("state").asText()).isIn("queued", "running", "succeeded");
        assertThat(task.path("links").path("self").asText()).isEqualTo("/v1/tasks/" + id);
        assertThat(created.headers().firstValue("Location")).contains("/v1/tasks/" + id);
        assertThat(task.path("max_attempts").asInt()).isEqualTo(3);
        assertThat(task.path("timeout_seconds").asInt()).isEqualTo(300);

        CallbackReceiver.Received callback = receiver.next(WAIT);
        assertThatCode(
                        () ->
                                new Webhook(TestNode.WEBHOOK_SECRET)
                                        .verify(callback.body(), lowerCase(callback.headers())))
                .doesNotThrowAnyException();
        JsonNode event = json.readTree(callback.body());
        assertThat(event.path("type").asText()).isEqualTo("task.succeeded");
        assertThat(event.path("data").path("id").asText()).isEqualTo(id);
        assertThat(event.path("data").path("result"))
                .isEqualTo(json.readTree("{\"question\": \"ping\"}"));
        assertThat(event.path("data").path("metadata").path("customer").asText()).isEqualTo("acme");

        JsonNode fetched = json.readTree(pulse.get("/v1/tasks/" + id).body());
        assertThat(fetched.path("state").asText()).isEqualTo("succeeded");
        assertThat(fetched.path("attempts").asInt()).isEqualTo(1);
        assertThat(fetched.path("result")).isEqualTo(json.readTree("{\"question\": \"ping\"}"));
        assertThat(fetched.path("error").isNull()).isTrue();
        for (String field : List.of("created_at", "run_at", "started_at", "finished_at")) {
            assertThat(Instant.parse(fetched.path(field).asText())).as(field).isNotNull();
        }
        JsonNode attempts =
                json.readTree(pulse.get("/v1/tasks/" + id + "/attempts").body()).path("items");
        assertThat(attempts).hasSize(1);
        assertThat(attempts.get(0).path("outcome").asText()).isEqualTo("succeeded");
        assertThat(attempts.get(0).path("node").asText()).isNotEmpty();
    }

    @Test
    void aDelayedTaskIsScheduledAndDoesNotStartBeforeItsRunAt() throws Exception {
        JsonNode task =
                json.readTree(
                        pulse.post("/v1/tasks", "{\"agent\": \"echo\", \"delay_seconds\": 1.5}")
                                .body());
        assertThat(task.path("state").asText()).isEqualTo("scheduled");
        Instant runAt = Instant.parse(task.path("run_at").asText());
        assertThat(Duration.between(Instant.parse(task.path("created_at").asText()), runAt))
                .isEqualTo(Duration.ofMillis(1500));

        JsonNode done = awaitState(task.path("id").asText(), "succeeded");
        assertThat(Instant.parse(done.path("started_at").asText())).isAfterOrEqualTo(runAt);
    }

    @Test
    void aFailingAgentEndsFailedWithItsErrorAndAFailureCallback() throws Exception {
        CallbackReceiver failures = new CallbackReceiver();
        try {
            String id =
                    json.readTree(
                                    pulse.post(
                                                    "/v1/tasks",
                                                    """
                    {"agent": "sleep", "input": {"ms": "not a number"}, "max_attempts": 1, "callback_url": "%s"}
                    """
                                                            .formatted(failures.url("/failed")))
                                            .body())
                            .path("id")
                            .asText();

            JsonNode failed = awaitState(id, "failed");
            assertThat(failed.path("error").path("code").asText()).isEqualTo("agent_error");
            assertThat(failed.path("error").path("message").asText()).contains("input.ms");
            JsonNode event = json.readTree(failures.next(WAIT).body());
            assertThat(event.path("type").asText()).isEqualTo("task.failed");
            assertThat(event.path("data").path("error").path("code").asText())
                    .isEqualTo("agent_error");
        } finally {
            failures.close();
        }
    }

    @Test
    void aTaskThatHasNotStartedIsCancelledAtOnceAndARunningOneWithinAHeartbeat() throws Exception {
        CallbackReceiver cancels = new CallbackReceiver();
        try {
            String waiting =
                    json.readTree(
                                    pulse.post(
                                                    "/v1/tasks",
                                                    """
                    {"agent": "echo", "delay_seconds": 3600, "callback_url": "%s"}
                    """
                                                            .formatted(cancels.url("/cancelled")))
                                            .body())
                            .path("id")
                            .asText();

            HttpResponse<String> cancelled = pulse.post("/v1/tasks/" + waiting + "/cancel", "");
            assertThat(cancelled.statusCode()).isEqualTo(200);
            assertThat(json.readTree(cancelled.body()).path("state").asText())
                    .isEqualTo("cancelled");
            assertThat(json.readTree(cancels.next(WAIT).body()).path("type").asText())
                    .isEqualTo("task.cancelled");

            HttpResponse<String> again = pulse.post("/v1/tasks/" + waiting + "/cancel", "");
            assertThat(again.statusCode()).isEqualTo(409);
            assertThat(again.headers().firstValue("Content-Type"))
                    .contains("application/problem+json");
            assertThat(json.readTree(again.body()).path("detail").asText()).contains("cancelled");

            String running =
                    json.readTree(
                                    pulse.post(
                                                    "/v1/tasks",
                                                    """
                    {"agent": "sleep", "input": {"ms": 600000}, "callback_url": "%s"}
                    """
                                                            .formatted(cancels.url("/stopped")))
                                            .body())
                            .path("id")
                            .asText();
            awaitState(running, "running");
            HttpResponse<String> requested = pulse.post("/v1/tasks/" + running + "/cancel", "");
            assertThat(requested.statusCode()).isEqualTo(202);
            assertThat(json.readTree(requested.body()).path("cancel_requested_at").isNull())
                    .isFalse();
            JsonNode stopped = awaitState(running, "cancelled");
            assertThat(stopped.path("result").isNull()).isTrue();
            assertThat(json.readTree(cancels.next(WAIT).body()).path("data").path("id").asText())
                    .isEqualTo(running);
            JsonNode attempts =
                    json.readTree(pulse.get("/v1/tasks/" + running + "/attempts").body())
                            .path("items");
            assertThat(attempts.get(0).path("outcome").asText()).isEqualTo("cancelled");

            assertThat(
                            pulse.post("/v1/tasks/0190a0a0-0000-7000-8000-000000000000/cancel", "")
                                    .statusCode())
                    .isEqualTo(404);
        } finally {
            cancels.close();
        }
    }

    @Test
    void listsFilterByStateAndAgentAndPageWithoutGapsOrRepeats() throws Exception {
        for (int i = 0; i < 7; i++) {
            pulse.post(
                    "/v1/tasks",
                    "{\"agent\": \"echo\", \"delay_seconds\": 3600, \"input\": {\"i\": "
                            + i
                            + "}}");
        }
        pulse.post(
                "/v1/tasks",
                "{\"agent\": \"sleep\", \"delay_seconds\": 3600, \"input\": {\"ms\": 1}}");
        long expected =
                pulse.count(
                        "SELECT count(*) FROM tasks WHERE state = 'scheduled' AND agent = 'echo'");
        assertThat(expected).isGreaterThanOrEqualTo(7);

        List<String> seen = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            String query =
                    "/v1/tasks?state=scheduled&agent=echo&limit=3"
                            + (cursor == null ? "" : "&cursor=" + cursor);
            JsonNode page = json.readTree(pulse.get(query).body());
            page.path("items")
                    .forEach(
                            item -> {
                                assertThat(item.path("state").asText()).isEqualTo("scheduled");
                                assertThat(item.path("agent").asText()).isEqualTo("echo");
                                seen.add(item.path("id").asText());
                            });
            assertThat(page.path("items").size()).isLessThanOrEqualTo(3);
            cursor = page.path("next_cursor").isNull() ? null : page.path("next_cursor").asText();
            pages++;
        } while (cursor != null && pages < 100);

        assertThat(seen).hasSize((int) expected);
        assertThat(new HashSet<>(seen)).hasSize(seen.size());
        List<String> newestFirst = new ArrayList<>(seen);
        newestFirst.sort(Comparator.comparing(UUID::fromString).reversed());
        assertThat(seen).isEqualTo(newestFirst);
    }

    @Test
    void aRepeatedIdempotencyKeyReturnsTheOriginalTaskWith200() throws Exception {
        HttpResponse<String> first =
                pulse.send(
                        pulse.request("/v1/tasks")
                                .header("Idempotency-Key", "invoice-7731")
                                .POST(
                                        HttpRequest.BodyPublishers.ofString(
                                                "{\"agent\": \"echo\", \"input\": {\"n\": 1}}"))
                                .build());
        HttpResponse<String> repeat =
                pulse.send(
                        pulse.request("/v1/tasks")
                                .header("Idempotency-Key", "invoice-7731")
                                .POST(
                                        HttpRequest.BodyPublishers.ofString(
                                                "{\"agent\": \"echo\", \"input\": {\"n\": 1}}"))
                                .build());
        HttpResponse<String> asField =
                pulse.post(
                        "/v1/tasks",
                        "{\"agent\": \"echo\", \"idempotency_key\": \"invoice-7731\"}");

        assertThat(first.statusCode()).isEqualTo(201);
        assertThat(repeat.statusCode()).isEqualTo(200);
        assertThat(asField.statusCode()).isEqualTo(200);
        String id = json.readTree(first.body()).path("id").asText();
        assertThat(json.readTree(repeat.body()).path("id").asText()).isEqualTo(id);
        assertThat(json.readTree(asField.body()).path("id").asText()).isEqualTo(id);
        assertThat(json.readTree(first.body()).path("idempotency_key").asText())
                .isEqualTo("invoice-7731");
        assertThat(pulse.count("SELECT count(*) FROM tasks WHERE idempotency_key = 'invoice-7731'"))
                .isEqualTo(1);
    }

    @Test
    void aFailedTaskCanBeRetriedAndThenSucceeds() throws Exception {
        String id =
                json.readTree(
                                pulse.post(
                                                "/v1/tasks",
                                                "{\"agent\": \"sleep\", \"input\": {\"ms\": -1}, \"max_attempts\": 2, \"retry\": {\"base_seconds\": 0.05, \"max_seconds\": 0.1}}")
                                        .body())
                        .path("id")
                        .asText();
        JsonNode failed = awaitState(id, "failed");
        assertThat(failed.path("attempts").asInt())
                .as("retried once with backoff, then failed")
                .isEqualTo(2);
        assertThat(pulse.post("/v1/tasks/" + id + "/retry", "{\"attempts\": 0}").statusCode())
                .isEqualTo(422);

        HttpResponse<String> retried = pulse.post("/v1/tasks/" + id + "/retry", "");
        assertThat(retried.statusCode()).isEqualTo(200);
        assertThat(json.readTree(retried.body()).path("max_attempts").asInt()).isEqualTo(3);
        JsonNode again = awaitState(id, "failed");
        assertThat(again.path("attempts").asInt()).isEqualTo(3);

        String ok =
                json.readTree(pulse.post("/v1/tasks", "{\"agent\": \"echo\"}").body())
                        .path("id")
                        .asText();
        awaitState(ok, "succeeded");
        assertThat(pulse.post("/v1/tasks/" + ok + "/retry", "").statusCode())
                .as("succeeded tasks are not retried")
                .isEqualTo(409);
    }

    @Test
    void healthAndUnknownRoutes() throws Exception {
        assertThat(pulse.get("/health/live").statusCode()).isEqualTo(200);
        assertThat(pulse.get("/health/ready").statusCode()).isEqualTo(200);
        HttpResponse<String> missing = pulse.get("/v1/nothing-here");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(missing.headers().firstValue("Content-Type"))
                .contains("application/problem+json");
        assertThat(pulse.get("/v1/tasks/not-a-uuid").statusCode()).isEqualTo(404);
    }

    @Test
    void agentsAreListedWithoutTheirCommands() throws Exception {
        JsonNode agents = json.readTree(pulse.get("/v1/agents").body()).path("items");
        Set<String> names = new HashSet<>();
        agents.forEach(a -> names.add(a.path("name").asText()));
        assertThat(names).contains("echo", "sleep", "word-count");
        assertThat(agents.toString()).doesNotContain("word_count.py");
        assertThat(json.readTree(pulse.get("/v1/agents/echo").body()).path("available").asBoolean())
                .isTrue();
    }

    private static JsonNode awaitState(String id, String state) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        JsonNode task = null;
        while (System.nanoTime() < deadline) {
            task = json.readTree(pulse.get("/v1/tasks/" + id).body());
            if (task.path("state").asText().equals(state)) {
                return task;
            }
            Thread.sleep(25);
        }
        throw new AssertionError("task " + id + " never became " + state + "; last seen: " + task);
    }

    static Map<String, List<String>> lowerCase(Map<String, List<String>> headers) {
        return headers.entrySet().stream()
                .collect(
                        Collectors.toMap(
                                e -> e.getKey().toLowerCase(Locale.ROOT),
                                Map.Entry::getValue,
                                (a, b) -> a));
    }
}
