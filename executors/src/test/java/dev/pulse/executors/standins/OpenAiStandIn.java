package dev.pulse.executors.standins;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * Stands in for an OpenAI-compatible chat completions API (which tests cannot reach): a real HTTP
 * server on loopback serving {@code POST /v1/chat/completions} with a chat completion that carries
 * the scripted reply and token usage, and recording every request body and its {@code
 * Authorization} header.
 */
public final class OpenAiStandIn implements AutoCloseable {

    public record Received(String path, String authorization, JsonNode body, Instant at) {}

    private final ObjectMapper json = new ObjectMapper();
    private final HttpServer server;
    private final ExecutorService threads = Executors.newCachedThreadPool();
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private final CountDownLatch firstRequest = new CountDownLatch(1);
    private volatile String reply = "Hello from the stand-in";
    private volatile String model = "stand-in-model-2026";
    private volatile int promptTokens = 12;
    private volatile int completionTokens = 5;
    private volatile int errorStatus;
    private volatile String errorBody;
    private volatile Duration delay = Duration.ZERO;
    private volatile Duration throttleWindow;
    private volatile Map<String, String> throttleHeaders = Map.of();
    private volatile Instant throttledFrom;

    public OpenAiStandIn() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(threads);
        server.createContext("/", this::handle);
        server.start();
    }

    /** The base URL an OpenAI client is configured with, ending in {@code /v1}. */
    public String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
    }

    public OpenAiStandIn reply(String text) {
        this.reply = text;
        return this;
    }

    public OpenAiStandIn usage(int promptTokens, int completionTokens) {
        this.promptTokens = promptTokens;
        this.completionTokens = completionTokens;
        return this;
    }

    public OpenAiStandIn model(String model) {
        this.model = model;
        return this;
    }

    /** Answer every request with this status and body instead of a completion. */
    public OpenAiStandIn fail(int status, String body) {
        this.errorStatus = status;
        this.errorBody = body;
        return this;
    }

    /**
     * From the first request on, for {@code window}, answer every request as a rate-limited
     * provider does: HTTP 429 with {@code headers} (e.g. {@code Retry-After: 2}); completions
     * after.
     */
    public OpenAiStandIn throttleFirst(Duration window, Map<String, String> headers) {
        this.throttleWindow = window;
        this.throttleHeaders = Map.copyOf(headers);
        return this;
    }

    /** When the first throttled answer was sent; null before. */
    public Instant throttledFrom() {
        return throttledFrom;
    }

    public OpenAiStandIn delay(Duration delay) {
        this.delay = delay;
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
            byte[] in = exchange.getRequestBody().readAllBytes();
            JsonNode body = in.length == 0 ? json.nullNode() : json.readTree(in);
            Instant now = Instant.now();
            received.add(
                    new Received(
                            exchange.getRequestURI().getPath(),
                            exchange.getRequestHeaders().getFirst("Authorization"),
                            body,
                            now));
            boolean throttled = false;
            if (throttleWindow != null) {
                synchronized (this) {
                    if (throttledFrom == null) {
                        throttledFrom = now;
                    }
                    throttled = now.isBefore(throttledFrom.plus(throttleWindow));
                }
            }
            firstRequest.countDown();
            if (!delay.isZero()) {
                try {
                    Thread.sleep(delay.toMillis());
                } catch (InterruptedException e) {
                    return;
                }
            }
            if (!exchange.getRequestMethod().equals("POST")
                    || !exchange.getRequestURI().getPath().equals("/v1/chat/completions")) {
                JsonAnswers.send(
                        exchange,
                        404,
                        "{\"error\": {\"message\": \"no route "
                                + exchange.getRequestURI().getPath()
                                + "\"}}");
            } else if (throttled) {
                throttleHeaders.forEach((k, v) -> exchange.getResponseHeaders().add(k, v));
                JsonAnswers.send(
                        exchange,
                        429,
                        "{\"error\": {\"message\": \"Rate limit reached\", \"type\": \"requests\"}}");
            } else if (errorStatus != 0) {
                JsonAnswers.send(exchange, errorStatus, errorBody);
            } else {
                JsonAnswers.send(exchange, 200, json.writeValueAsString(completion()));
            }
        }
    }

    private ObjectNode completion() {
        ObjectNode c = json.createObjectNode();
        c.put("id", "chatcmpl-standin");
        c.put("object", "chat.completion");
        c.put("created", 1_790_000_000L);
        c.put("model", model);
        ObjectNode choice = c.putArray("choices").addObject();
        choice.put("index", 0);
        choice.putObject("message").put("role", "assistant").put("content", reply);
        choice.put("finish_reason", "stop");
        c.putObject("usage")
                .put("prompt_tokens", promptTokens)
                .put("completion_tokens", completionTokens)
                .put("total_tokens", promptTokens + completionTokens);
        return c;
    }

    @Override
    public void close() {
        server.stop(0);
        threads.shutdownNow();
    }
}
