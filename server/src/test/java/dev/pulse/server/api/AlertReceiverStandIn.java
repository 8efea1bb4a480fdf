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

    /** Alert bodies with a valid signature. */
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
