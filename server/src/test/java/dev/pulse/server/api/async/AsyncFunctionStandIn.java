package dev.pulse.server.api.async;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Stands in for an asynchronous serverless function (which tests cannot reach): a real HTTP server
 * on loopback that accepts every run with 202 and remembers the headers Pulse sent, so the test can
 * play the function's later part and report the result itself.
 */
final class AsyncFunctionStandIn implements AutoCloseable {

    /** The Pulse headers of one accepted run. */
    record Accepted(
            String taskId, String attempt, String leaseToken, String completeUrl, String body) {}

    private final HttpServer server;
    private final BlockingQueue<Accepted> accepted = new LinkedBlockingQueue<>();

    AsyncFunctionStandIn() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::accept);
        server.start();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/run";
    }

    private void accept(HttpExchange exchange) throws IOException {
        String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        var h = exchange.getRequestHeaders();
        accepted.add(
                new Accepted(
                        h.getFirst("Pulse-Task-Id"),
                        h.getFirst("Pulse-Attempt"),
                        h.getFirst("Pulse-Lease-Token"),
                        h.getFirst("Pulse-Complete-Url"),
                        body));
        exchange.sendResponseHeaders(202, -1);
        exchange.close();
    }

    /** The next run Pulse started here; fails after two minutes without one. */
    Accepted nextRun() throws InterruptedException {
        Accepted run = accepted.poll(2, TimeUnit.MINUTES);
        if (run == null) {
            throw new AssertionError("Pulse never called the async function stand-in");
        }
        return run;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
