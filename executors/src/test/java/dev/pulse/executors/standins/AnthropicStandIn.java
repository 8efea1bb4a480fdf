package dev.pulse.executors.standins;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Stands in for Anthropic's messages API (which tests cannot reach): a real HTTP server on loopback
 * that answers {@code POST /v1/messages} in Anthropic's wire format with a set reply and token
 * counts, and records what it was sent.
 */
public final class AnthropicStandIn implements AutoCloseable {

    public record Received(String path, String apiKey, String version, JsonNode body) {}

    private final ObjectMapper json = new ObjectMapper();
    private final HttpServer server;
    private final List<Received> received = new CopyOnWriteArrayList<>();
    private volatile String reply = "Hello from the Anthropic stand-in";
    private volatile int inputTokens = 21;
    private volatile int outputTokens = 7;
    private volatile int errorStatus;

    public AnthropicStandIn() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    /** The base URL an Anthropic client is configured with, ending in {@code /v1}. */
    public String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
    }

    public AnthropicStandIn reply(String text, int inputTokens, int outputTokens) {
        this.reply = text;
        this.inputTokens = inputTokens;
        this.outputTokens = outputTokens;
        return this;
    }

    /** Answers every request with this HTTP status and an Anthropic error body. */
    public AnthropicStandIn fail(int status) {
        this.errorStatus = status;
        return this;
    }

    public List<Received> received() {
        return List.copyOf(received);
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            byte[] in = exchange.getRequestBody().readAllBytes();
            received.add(
                    new Received(
                            exchange.getRequestURI().getPath(),
                            exchange.getRequestHeaders().getFirst("x-api-key"),
                            exchange.getRequestHeaders().getFirst("anthropic-version"),
                            in.length == 0 ? json.nullNode() : json.readTree(in)));
            if (!exchange.getRequestURI().getPath().equals("/v1/messages")) {
                JsonAnswers.send(
                        exchange,
                        404,
                        "{\"type\": \"error\", \"error\": {\"type\": \"not_found_error\", \"message\": \"no route\"}}");
            } else if (errorStatus != 0) {
                JsonAnswers.send(
                        exchange,
                        errorStatus,
                        "{\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": \"Overloaded\"}}");
            } else {
                JsonAnswers.send(exchange, 200, json.writeValueAsString(message()));
            }
        }
    }

    private ObjectNode message() {
        ObjectNode m = json.createObjectNode();
        m.put("id", "msg_standin");
        m.put("type", "message");
        m.put("role", "assistant");
        m.put("model", "claude-stand-in");
        m.putArray("content").addObject().put("type", "text").put("text", reply);
        m.put("stop_reason", "end_turn");
        m.putNull("stop_sequence");
        m.putObject("usage").put("input_tokens", inputTokens).put("output_tokens", outputTokens);
        return m;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
