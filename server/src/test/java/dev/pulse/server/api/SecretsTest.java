package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import dev.pulse.server.TestNode;
import dev.pulse.workers.testing.TestDatabase;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** Secrets never appear in logs or API responses, even when an endpoint echoes them back. */
class SecretsTest {

    private static final String TOKEN = "tok_super_secret_value_8461";
    private final ObjectMapper json = new ObjectMapper();

    @TempDir Path agents;

    @Test
    void agentCredentialsTheAdminKeyAndTheWebhookSecretStayOutOfLogsAndResponses()
            throws Exception {
        HttpServer leaky =
                HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        leaky.createContext(
                "/",
                exchange -> { // a stand-in endpoint that fails and echoes the credentials it got
                    byte[] body =
                            ("{\"error\": \"bad token "
                                            + exchange.getRequestHeaders().getFirst("Authorization")
                                            + "\"}")
                                    .getBytes(StandardCharsets.UTF_8);
                    exchange.sendResponseHeaders(400, body.length);
                    exchange.getResponseBody().write(body);
                    exchange.close();
                });
        leaky.start();
        Files.writeString(
                agents.resolve("leaky.yaml"),
                """
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: leaky}
                spec:
                  executor: serverless
                  serverless:
                    url: http://127.0.0.1:%d/run
                    auth: {bearer: "${env:LEAKY_TOKEN}"}
                """
                        .formatted(leaky.getAddress().getPort()));
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        logs.start();
        root.addAppender(logs);
        StringBuilder responses = new StringBuilder();
        try (TestNode pulse =
                new TestNode(
                        TestDatabase.create(),
                        Map.of("PULSE_AGENTS_DIR", agents.toString(), "LEAKY_TOKEN", TOKEN))) {
            String id =
                    json.readTree(
                                    pulse.post(
                                                    "/v1/tasks",
                                                    "{\"agent\": \"leaky\", \"max_attempts\": 1}")
                                            .body())
                            .path("id")
                            .asText();
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (!json.readTree(pulse.get("/v1/tasks/" + id).body())
                            .path("state")
                            .asText()
                            .equals("failed")
                    && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            for (String path :
                    new String[] {
                        "/v1/tasks/" + id,
                        "/v1/tasks/" + id + "/attempts",
                        "/v1/agents",
                        "/v1/agents/leaky",
                        "/v1/tasks"
                    }) {
                responses.append(pulse.get(path).body());
            }
            HttpResponse<String> wrongKey =
                    HttpClient.newHttpClient()
                            .send(
                                    HttpRequest.newBuilder(URI.create(pulse.url("/v1/tasks")))
                                            .header("Authorization", "Bearer " + TOKEN)
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString());
            responses.append(wrongKey.body());
            assertThat(
                            json.readTree(pulse.get("/v1/tasks/" + id).body())
                                    .path("error")
                                    .path("message")
                                    .asText())
                    .contains("[redacted]");
        } finally {
            root.detachAppender(logs);
            leaky.stop(0);
        }
        String logged =
                logs.list.stream()
                        .map(
                                e ->
                                        e.getFormattedMessage()
                                                + (e.getThrowableProxy() == null
                                                        ? ""
                                                        : ThrowableProxyUtil.asString(
                                                                e.getThrowableProxy())))
                        .collect(Collectors.joining("\n"));

        assertThat(logged).isNotEmpty();
        for (String secret : new String[] {TOKEN, TestNode.ADMIN_KEY, TestNode.WEBHOOK_SECRET}) {
            assertThat(logged).as("logs").doesNotContain(secret);
            assertThat(responses.toString()).as("API responses").doesNotContain(secret);
        }
    }
}
