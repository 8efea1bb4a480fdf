package dev.pulse.server.executors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.standardwebhooks.Webhook;
import dev.pulse.server.TestNode;
import dev.pulse.workers.testing.CallbackReceiver;
import dev.pulse.workers.testing.TestDatabase;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The whole path of a task, for the executor tests: queued over HTTP on a real node, run by its
 * worker on the agent's executor, stored, and its signed callback received on loopback.
 */
final class WholePath implements AutoCloseable {

    /** Where one task ended: the task as the API shows it, its attempts, and the callback event. */
    record Ended(JsonNode task, JsonNode attempts, JsonNode callback) {

        String state() {
            return task.path("state").asText();
        }

        String errorCode() {
            return task.path("error").path("code").asText();
        }

        String errorMessage() {
            return task.path("error").path("message").asText();
        }

        String logs() {
            return attempts.get(attempts.size() - 1).path("logs").asText();
        }
    }

    static final ObjectMapper json = new ObjectMapper();
    final TestNode pulse;
    private final CallbackReceiver receiver = new CallbackReceiver();
    private final Map<String, JsonNode> callbacks = new HashMap<>();

    WholePath(Map<String, String> environment) {
        pulse = new TestNode(TestDatabase.create(), environment);
    }

    /** Declares an agent through {@code PUT /v1/agents/{name}} with {@code spec} (JSON). */
    void agent(String name, String spec) {
        HttpResponse<String> put =
                pulse.send(
                        pulse.request("/v1/agents/" + name)
                                .PUT(
                                        HttpRequest.BodyPublishers.ofString(
                                                "{\"apiVersion\": \"pulse/v1\", \"kind\": \"Agent\", \"metadata\": {\"name\": \""
                                                        + name
                                                        + "\"}, \"spec\": "
                                                        + spec
                                                        + "}"))
                                .build());
        assertThat(put.statusCode()).as(put.body()).isIn(200, 201);
    }

    /**
     * Queues one attempt's worth of {@code agent} with {@code input}, its callback to the receiver;
     * returns the id.
     */
    String enqueue(String agent, String input) throws Exception {
        HttpResponse<String> created =
                pulse.post(
                        "/v1/tasks",
                        "{\"agent\": \""
                                + agent
                                + "\", \"input\": "
                                + input
                                + ", \"max_attempts\": 1, \"callback_url\": \""
                                + receiver.url("/done")
                                + "\"}");
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        return json.readTree(created.body()).path("id").asText();
    }

    /** Waits for each task's signed callback, then reads the task and its attempts. */
    Map<String, Ended> awaitAll(List<String> ids) throws Exception {
        while (!callbacks.keySet().containsAll(ids)) {
            CallbackReceiver.Received callback = receiver.next(Duration.ofSeconds(60));
            assertThatCode(
                            () ->
                                    new Webhook(TestNode.WEBHOOK_SECRET)
                                            .verify(callback.body(), lowerCase(callback.headers())))
                    .as("signature")
                    .doesNotThrowAnyException();
            JsonNode event = json.readTree(callback.body());
            callbacks.put(event.path("data").path("id").asText(), event);
        }
        Map<String, Ended> ended = new HashMap<>();
        for (String id : ids) {
            ended.put(
                    id,
                    new Ended(
                            json.readTree(pulse.get("/v1/tasks/" + id).body()),
                            json.readTree(pulse.get("/v1/tasks/" + id + "/attempts").body())
                                    .path("items"),
                            callbacks.get(id)));
        }
        return ended;
    }

    /** Each of {@code ids} ended failed, and its failure callback carries the same error code. */
    static void assertFailedAndCalledBack(Map<String, Ended> ended, List<String> ids) {
        for (String id : ids) {
            Ended one = ended.get(id);
            assertThat(one.state()).as("%s", one.task()).isEqualTo("failed");
            assertThat(one.callback().path("type").asText()).isEqualTo("task.failed");
            assertThat(one.callback().path("data").path("error").path("code").asText())
                    .isEqualTo(one.errorCode());
        }
    }

    private static Map<String, List<String>> lowerCase(Map<String, List<String>> headers) {
        return headers.entrySet().stream()
                .collect(
                        Collectors.toMap(
                                e -> e.getKey().toLowerCase(Locale.ROOT),
                                Map.Entry::getValue,
                                (a, b) -> a));
    }

    @Override
    public void close() {
        pulse.close();
        receiver.close();
    }
}
