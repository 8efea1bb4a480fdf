package dev.pulse.server.executors;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The serverless executor through the whole path, against a loopback stand-in for the functions.
 */
class ServerlessPathTest {

    private static HttpServer functions;
    private static WholePath path;

    /**
     * Stands in for serverless functions (which tests cannot reach): a real HTTP server on loopback
     * with one route per behaviour.
     */
    @BeforeAll
    static void start() throws Exception {
        functions =
                HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        answer("/ok", 200, "{\"output\": {\"summary\": \"short\"}, \"debug\": 1}", 0);
        answer("/broken", 500, "{\"error\": \"database on fire\"}", 0);
        answer("/garbled", 200, "<html>not json</html>", 0);
        answer("/slow", 200, "{}", 90_000);
        functions.setExecutor(Executors.newCachedThreadPool());
        functions.start();
        path = new WholePath(Map.of());
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        // Only the slow agent's timeout is short (its function answers long after it); the others
        // get
        // all the time a busy machine may need.
        agent("fn-ok", url("/ok"), ", \"result\": \"/output\"", "60s");
        agent("fn-broken", url("/broken"), "", "60s");
        agent("fn-garbled", url("/garbled"), "", "60s");
        agent("fn-slow", url("/slow"), "", "2s");
        agent("fn-gone", "http://127.0.0.1:" + closedPort + "/nobody-home", "", "60s");
    }

    @AfterAll
    static void stop() {
        path.close();
        functions.stop(0);
    }

    @Test
    void eachOutcomeIsStoredAndCalledBack() throws Exception {
        String ok = path.enqueue("fn-ok", "{\"text\": \"long text\"}");
        String broken = path.enqueue("fn-broken", "{}");
        String garbled = path.enqueue("fn-garbled", "{}");
        String slow = path.enqueue("fn-slow", "{}");
        String gone = path.enqueue("fn-gone", "{}");
        Map<String, WholePath.Ended> ended =
                path.awaitAll(List.of(ok, broken, garbled, slow, gone));

        assertThat(ended.get(ok).state()).isEqualTo("succeeded");
        assertThat(ended.get(ok).task().path("result"))
                .isEqualTo(WholePath.json.readTree("{\"summary\": \"short\"}"));
        assertThat(ended.get(ok).callback().path("type").asText()).isEqualTo("task.succeeded");
        assertThat(ended.get(ok).callback().path("data").path("result").path("summary").asText())
                .isEqualTo("short");

        assertThat(ended.get(broken).errorCode()).isEqualTo("agent_error");
        assertThat(ended.get(broken).errorMessage())
                .contains("HTTP 500")
                .contains("database on fire");
        assertThat(ended.get(garbled).errorCode()).isEqualTo("invalid_output");
        assertThat(ended.get(garbled).errorMessage()).contains("not JSON");
        assertThat(ended.get(slow).errorCode()).isEqualTo("timeout");
        assertThat(ended.get(gone).errorCode()).isEqualTo("agent_error");
        assertThat(ended.get(gone).errorMessage()).contains("cannot reach the endpoint");
        WholePath.assertFailedAndCalledBack(ended, List.of(broken, garbled, slow, gone));
    }

    private static void agent(String name, String url, String more, String timeout) {
        path.agent(
                name,
                "{\"executor\": \"serverless\", \"timeout\": \""
                        + timeout
                        + "\", \"serverless\": {\"url\": \""
                        + url
                        + "\", \"retries\": 0"
                        + more
                        + "}}");
    }

    private static String url(String route) {
        return "http://127.0.0.1:" + functions.getAddress().getPort() + route;
    }

    private static void answer(String route, int status, String body, long delayMs) {
        functions.createContext(
                route,
                exchange -> {
                    exchange.getRequestBody().readAllBytes();
                    try {
                        Thread.sleep(delayMs);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                    exchange.getResponseHeaders()
                            .add(
                                    "Content-Type",
                                    body.startsWith("<") ? "text/html" : "application/json");
                    exchange.sendResponseHeaders(status, bytes.length);
                    exchange.getResponseBody().write(bytes);
                    exchange.close();
                });
    }
}
