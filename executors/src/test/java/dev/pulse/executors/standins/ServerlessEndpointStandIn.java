package dev.pulse.executors.standins;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Stands in for a serverless function endpoint (which tests cannot reach): a real HTTP server on
 * loopback that records every request and answers with scripted responses, in order; the last one
 * repeats.
 */
public final class ServerlessEndpointStandIn implements AutoCloseable {

    /** One scripted answer: status, headers, body, and how long to wait before answering. */
    public record Answer(int status, Map<String, String> headers, String body, Duration delay) {

        public static Answer json(int status, String body) {
            return new Answer(
                    status, Map.of("Content-Type", "application/json"), body, Duration.ZERO);
        }

        public Answer withHeader(String name, String value) {
            Map<String, String> more = new LinkedHashMap<>(headers);
            more.put(name, value);
            return new Answer(status, more, body, delay);
        }

        public Answer after(Duration delay) {
            return new Answer(status, headers, body, delay);
        }
    }

    /** What the endpoint received. */
    public record Received(
            String method,
            String path,
            Map<String, List<String>> headers,
            String body,
            long atNanos) {

        public String header(String name) {
            return headers.entrySet().stream()
                    .filter(e -> e.getKey().equalsIgnoreCase(name))
                    .map(e -> e.getValue().get(0))
                    .findFirst()
                    .orElse(null);
        }
    }

    private final HttpServer server;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final Deque<Answer> script = new ArrayDeque<>();
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private volatile CountDownLatch firstRequest = new CountDownLatch(1);

    public ServerlessEndpointStandIn() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(threads);
        server.createContext("/", this::handle);
        server.start();
    }

    /** The URL of {@code path} on this stand-in, e.g. {@code url("/run")}. */
    public String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    public synchronized ServerlessEndpointStandIn answer(Answer... answers) {
        script.addAll(List.of(answers));
        return this;
    }

    public List<Received> received() {
        return List.copyOf(received);
    }

    public boolean awaitFirstRequest(Duration timeout) throws InterruptedException {
        return firstRequest.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String body =
                    new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            received.add(
                    new Received(
                            exchange.getRequestMethod(),
                            exchange.getRequestURI().toString(),
                            Map.copyOf(exchange.getRequestHeaders()),
                            body,
                            System.nanoTime()));
            firstRequest.countDown();
            Answer answer = next();
            if (!answer.delay().isZero()) {
                try {
                    Thread.sleep(answer.delay().toMillis());
                } catch (InterruptedException e) {
                    return;
                }
            }
            answer.headers().forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
            byte[] bytes = answer.body().getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(answer.status(), bytes.length == 0 ? -1 : bytes.length);
            if (bytes.length > 0) {
                try (OutputStream out = exchange.getResponseBody()) {
                    out.write(bytes);
                }
            }
        }
    }

    private synchronized Answer next() {
        if (script.isEmpty()) {
            return Answer.json(200, "{}");
        }
        return script.size() == 1 ? script.peek() : script.poll();
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
