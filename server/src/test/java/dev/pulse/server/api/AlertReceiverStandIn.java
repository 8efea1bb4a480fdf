package dev.pulse.server.api;

import com.sun.net.httpserver.HttpServer;
import dev.pulse.server.TestNode;
import dev.pulse.workers.callbacks.WebhookSecret;
import dev.pulse.workers.callbacks.WebhookSigner;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Stands in for an operator's alert webhook (PULSE_ALERT_URL): a loopback HTTP server that keeps
 * every alert body whose Standard Webhooks signature checks out with the test nodes' secret.
 */
final class AlertReceiverStandIn implements AutoCloseable {

    private final HttpServer server;
    private final WebhookSigner signer =
            new WebhookSigner(WebhookSecret.parse(TestNode.WEBHOOK_SECRET));
    private final List<String> verified = new CopyOnWriteArrayList<>();
    private final List<String> unsigned = new CopyOnWriteArrayList<>();
    private final List<String> refusedIds = new CopyOnWriteArrayList<>();
    private final List<String> acceptedIds = new CopyOnWriteArrayList<>();
    private final AtomicInteger toRefuse = new AtomicInteger();

    AlertReceiverStandIn() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext(
                "/",
                exchange -> {
                    try (exchange) {
                        String body =
                                new String(
                                        exchange.getRequestBody().readAllBytes(),
                                        StandardCharsets.UTF_8);
                        var h = exchange.getRequestHeaders();
                        String id = h.getFirst("webhook-id");
                        if (toRefuse.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                            // down: as an endpoint being deployed answers
                            refusedIds.add(String.valueOf(id));
                            exchange.sendResponseHeaders(503, -1);
                            return;
                        }
                        acceptedIds.add(String.valueOf(id));
                        String ts = h.getFirst("webhook-timestamp");
                        String sig = h.getFirst("webhook-signature");
                        if (id != null
                                && ts != null
                                && signer.sign(id, Long.parseLong(ts), body).equals(sig)) {
                            verified.add(body);
                        } else {
                            unsigned.add(body);
                        }
                        exchange.sendResponseHeaders(204, -1);
                    }
                });
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/alerts";
    }

    /** Answers the next {@code n} alerts 503, as an endpoint that is down. */
    AlertReceiverStandIn refuseFirst(int n) {
        toRefuse.set(n);
        return this;
    }

    /** The webhook-ids of the alerts answered 503. */
    List<String> refusedIds() {
        return List.copyOf(refusedIds);
    }

    /** The webhook-ids of the alerts accepted. */
    List<String> acceptedIds() {
        return List.copyOf(acceptedIds);
    }

    /** Alert bodies with a valid signature (of the alerts accepted). */
    List<String> verified() {
        return List.copyOf(verified);
    }

    List<String> unsigned() {
        return List.copyOf(unsigned);
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
