package dev.pulse.workers.alerts;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.workers.callbacks.WebhookSigner;
import dev.pulse.workers.flow.AgentHolds;
import dev.pulse.workers.json.Timestamps;
import java.io.IOException;
import java.net.URI;
import java.time.Clock;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Announces to the operator webhook ({@code PULSE_ALERT_URL}) each hold that begins: a provider's
 * back-off or a spent daily budget, with the agent, the reason and until when. Signed like task
 * callbacks (Standard Webhooks: {@code webhook-id}, {@code webhook-timestamp}, {@code
 * webhook-signature} with the node's webhook secret). Each hold is announced by the one node whose
 * hold began it ({@link AgentHolds#hold}); sent off the worker's threads, tried a few times, then
 * logged and dropped: an alert is a courtesy, the hold itself is what protects the budget.
 */
public final class OperatorAlerts implements Consumer<List<AgentHolds.Begun>>, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(OperatorAlerts.class);
    private static final MediaType JSON = MediaType.get("application/json");
    private static final int TRIES = 3;

    private final OkHttpClient http;
    private final WebhookSigner signer;
    private final ObjectMapper json;
    private final Clock clock;
    private final URI url;
    private final ExecutorService sender =
            Executors.newSingleThreadExecutor(
                    r -> {
                        Thread t = new Thread(r, "pulse-alerts");
                        t.setDaemon(true);
                        return t;
                    });

    public OperatorAlerts(
            OkHttpClient http, WebhookSigner signer, ObjectMapper json, Clock clock, URI url) {
        this.http = http;
        this.signer = signer;
        this.json = json;
        this.clock = clock;
        this.url = url;
    }

    @Override
    public void accept(List<AgentHolds.Begun> begun) {
        for (AgentHolds.Begun hold : begun) {
            sender.execute(() -> send(hold));
        }
    }

    /** The alert's body: {@code {"type": "agent.held", "timestamp", "data": {...}}}. */
    String body(AgentHolds.Begun hold) {
        ObjectNode body = json.createObjectNode();
        body.put("type", "agent.held");
        body.put("timestamp", Timestamps.rfc3339(clock.instant()));
        ObjectNode data = body.putObject("data");
        data.put("agent", hold.agent());
        data.put("reason", hold.reason().wire());
        data.put("until", Timestamps.rfc3339(hold.until()));
        data.put("detail", hold.detail());
        try {
            return json.writeValueAsString(body);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private void send(AgentHolds.Begun hold) {
        String id = "alert_" + UUID.randomUUID();
        String body = body(hold);
        for (int attempt = 1; attempt <= TRIES; attempt++) {
            long timestamp = clock.instant().getEpochSecond();
            Request request =
                    new Request.Builder()
                            .url(url.toString())
                            .header("webhook-id", id)
                            .header("webhook-timestamp", Long.toString(timestamp))
                            .header("webhook-signature", signer.sign(id, timestamp, body))
                            .post(RequestBody.create(body, JSON))
                            .build();
            try (Response response = http.newCall(request).execute()) {
                if (response.isSuccessful()) {
                    return;
                }
                log.warn(
                        "operator alert for {} ({}) answered HTTP {}",
                        hold.agent(),
                        hold.reason().wire(),
                        response.code());
            } catch (IOException e) {
                log.warn(
                        "operator alert for {} ({}) not delivered: {}",
                        hold.agent(),
                        hold.reason().wire(),
                        e.toString());
            }
            try {
                Thread.sleep(1000L * attempt);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        log.error(
                "gave up announcing that agent {} is held ({}) until {}",
                hold.agent(),
                hold.reason().wire(),
                hold.until());
    }

    @Override
    public void close() {
        sender.shutdownNow();
    }
}
