package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.workers.keys.ApiKeyStore;
import dev.pulse.workers.keys.Scope;
import dev.pulse.workers.testing.CallbackReceiver;
import dev.pulse.workers.testing.TestDatabase;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.EnumSet;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A task's callback deliveries through the API: listed with their outcome, and sent again on
 * request.
 */
class DeliveriesApiTest {

    private static final ObjectMapper json = new ObjectMapper();

    @Test
    void aDeadDeliveryIsListedAndRedeliveredWithTheSameWebhookId() throws Exception {
        AtomicInteger status = new AtomicInteger(500);
        try (CallbackReceiver receiver = new CallbackReceiver();
                TestNode pulse =
                        new TestNode(
                                TestDatabase.create(),
                                Map.of("PULSE_CALLBACK_MAX_ATTEMPTS", "1"))) {
            receiver.respondWith(status::get);
            String id =
                    json.readTree(
                                    pulse.post(
                                                    "/v1/tasks",
                                                    "{\"agent\": \"echo\", \"input\": {\"n\": 1}, \"callback_url\": \""
                                                            + receiver.url("/hook")
                                                            + "\"}")
                                            .body())
                            .path("id")
                            .asText();
            String firstWebhookId = receiver.next(Duration.ofMinutes(2)).header("webhook-id");

            JsonNode dead = awaitDelivery(pulse, id, "dead");
            assertThat(dead.path("last_status").asInt()).isEqualTo(500);
            assertThat(dead.path("event_type").asText()).isEqualTo("task.succeeded");
            assertThat(dead.path("attempts").asInt()).isEqualTo(1);

            String reader =
                    new ApiKeyStore(pulse.jdbi, new SecureRandom())
                            .create("reader", EnumSet.of(Scope.TASKS_READ));
            assertThat(
                            pulse.send(
                                            HttpRequest.newBuilder(
                                                            URI.create(
                                                                    pulse.url(
                                                                            dead.path("redeliver")
                                                                                    .asText())))
                                                    .header("Authorization", "Bearer " + reader)
                                                    .POST(HttpRequest.BodyPublishers.noBody())
                                                    .build())
                                    .statusCode())
                    .as("tasks:read may not redeliver")
                    .isEqualTo(403);

            status.set(204);
            HttpResponse<String> again = pulse.post(dead.path("redeliver").asText(), "");
            assertThat(again.statusCode()).as(again.body()).isEqualTo(200);
            assertThat(json.readTree(again.body()).path("state").asText())
                    .isIn("pending", "delivered");
            assertThat(receiver.next(Duration.ofMinutes(2)).header("webhook-id"))
                    .as("the same event")
                    .isEqualTo(firstWebhookId);
            assertThat(awaitDelivery(pulse, id, "delivered").path("last_status").asInt())
                    .isEqualTo(204);

            assertThat(
                            pulse.post("/v1/deliveries/" + UUID.randomUUID() + "/redeliver", "")
                                    .statusCode())
                    .isEqualTo(404);
            assertThat(pulse.post("/v1/deliveries/not-an-id/redeliver", "").statusCode())
                    .isEqualTo(404);
            assertThat(pulse.get("/v1/tasks/" + UUID.randomUUID() + "/deliveries").statusCode())
                    .isEqualTo(404);
        }
    }

    private static JsonNode awaitDelivery(TestNode pulse, String taskId, String state)
            throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        JsonNode items = null;
        while (System.nanoTime() < deadline) {
            items =
                    json.readTree(pulse.get("/v1/tasks/" + taskId + "/deliveries").body())
                            .path("items");
            if (items.size() == 1 && items.get(0).path("state").asText().equals(state)) {
                return items.get(0);
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the delivery never became " + state + ": " + items);
    }
}
