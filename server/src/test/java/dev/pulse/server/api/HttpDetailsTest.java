package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Collections;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * 415 for bodies not sent as JSON, 405 with Allow, parser complaints in plain words, and an
 * optional body that may be null.
 */
class HttpDetailsTest {

    private static final ObjectMapper json = new ObjectMapper();
    private static TestNode pulse;

    @BeforeAll
    static void start() {
        pulse = new TestNode();
    }

    @AfterAll
    static void stop() {
        pulse.close();
    }

    @ParameterizedTest
    @CsvSource({"text/plain", "application/x-www-form-urlencoded", "''"})
    void aBodyNotDeclaredJsonIs415AndNothingIsStored(String contentType) throws Exception {
        long before = pulse.count("SELECT count(*) FROM tasks");
        HttpRequest.Builder request =
                HttpRequest.newBuilder(URI.create(pulse.url("/v1/tasks")))
                        .header("Authorization", "Bearer " + TestNode.ADMIN_KEY)
                        .POST(HttpRequest.BodyPublishers.ofString("{\"agent\": \"echo\"}"));
        if (!contentType.isEmpty()) {
            request.header("Content-Type", contentType);
        }
        HttpResponse<String> response = pulse.send(request.build());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(415);
        assertThat(response.headers().firstValue("Content-Type"))
                .hasValueSatisfying(v -> assertThat(v).startsWith("application/problem+json"));
        assertThat(json.readTree(response.body()).path("detail").asText())
                .contains("application/json");
        assertThat(pulse.count("SELECT count(*) FROM tasks")).isEqualTo(before);
    }

    @Test
    void jsonWithACharsetIsJson() {
        HttpResponse<String> response =
                pulse.send(
                        pulse.request("/v1/tasks")
                                .setHeader("Content-Type", "application/json; charset=utf-8")
                                .POST(HttpRequest.BodyPublishers.ofString("{\"agent\": \"echo\"}"))
                                .build());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(201);
    }

    @ParameterizedTest
    @CsvSource({
        "DELETE, /v1/tasks, 'GET, POST'",
        "PUT, /v1/tasks/0190c7e2-6d7a-7000-8000-000000000000/cancel, POST",
        "POST, /v1/agents/echo, 'DELETE, GET, PUT'",
        "PATCH, /health/live, GET"
    })
    void aMethodThePathDoesNotTakeIs405WithAllow(String method, String path, String allow)
            throws Exception {
        HttpResponse<String> response =
                pulse.send(
                        pulse.request(path)
                                .method(method, HttpRequest.BodyPublishers.noBody())
                                .build());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(405);
        assertThat(response.headers().firstValue("Allow")).contains(allow);
        assertThat(response.headers().firstValue("Content-Type"))
                .hasValueSatisfying(v -> assertThat(v).startsWith("application/problem+json"));
        assertThat(json.readTree(response.body()).path("detail").asText()).contains(method, allow);
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "{\"agent\": \"echo\",|ends before the JSON value is complete|line 1, column 18",
                "{\"agent\": \"echo\"} {}|more text follows the JSON value|line 1, column 19",
                "{\"agent\": echo}|unexpected text|line 1, column 15",
                "{\"a\": \"x|ends before the JSON value is complete|line 1, column 9"
            })
    void malformedJsonIsExplainedInPlainWords(String body, String what, String where)
            throws Exception {
        HttpResponse<String> response = pulse.post("/v1/tasks", body);
        assertThat(response.statusCode()).isEqualTo(400);
        JsonNode error = json.readTree(response.body()).path("errors").path(0);
        assertThat(error.path("field").asText()).isEqualTo("body");
        assertThat(error.path("message").asText())
                .contains("is not valid JSON", what, where, "send a JSON object such as")
                .doesNotContainIgnoringCase("token")
                .doesNotContain("code ", "Source", "jackson", "REDACTED");
    }

    @Test
    void theLineOfAMultiLineBodyIsNamed() throws Exception {
        HttpResponse<String> response =
                pulse.post("/v1/tasks", "{\n  \"agent\": \"echo\"\n  \"input\": {}\n}");
        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(json.readTree(response.body()).path("detail").asText())
                .contains("unexpected text at line 3, column 3");
    }

    /**
     * Test nodes set PULSE_HTTP_HOST=127.0.0.1: then the API answers on loopback and on no other
     * address of the machine.
     */
    @Test
    void theNodeListensOnlyOnTheConfiguredAddress() throws Exception {
        assertThat(pulse.get("/health/live").statusCode()).isEqualTo(200);
        InetAddress other =
                Collections.list(NetworkInterface.getNetworkInterfaces()).stream()
                        .filter(i -> !i.getName().startsWith("lo"))
                        .flatMap(i -> Collections.list(i.getInetAddresses()).stream())
                        .filter(a -> a instanceof Inet4Address && !a.isLoopbackAddress())
                        .findFirst()
                        .orElse(null);
        Assumptions.assumeTrue(
                other != null,
                "!!! SKIPPED the other-address half: this machine has no non-loopback IPv4 address; run it on one that has (any host with a network interface)");
        try (Socket socket = new Socket()) {
            Assertions.assertThatThrownBy(
                            () ->
                                    socket.connect(
                                            new InetSocketAddress(other, pulse.node.port()), 2_000))
                    .as("connecting on " + other.getHostAddress())
                    .isInstanceOf(IOException.class);
        }
    }

    @Test
    void retryTakesNoBodyAnEmptyObjectOrNull() throws Exception {
        for (String body : new String[] {"", "{}", "null"}) {
            String id =
                    json.readTree(
                                    pulse.post(
                                                    "/v1/tasks",
                                                    "{\"agent\": \"echo\", \"delay_seconds\": 3600}")
                                            .body())
                            .path("id")
                            .asText();
            assertThat(pulse.post("/v1/tasks/" + id + "/cancel", "").statusCode()).isEqualTo(200);
            HttpResponse<String> retried = pulse.post("/v1/tasks/" + id + "/retry", body);
            assertThat(retried.statusCode())
                    .as("body '%s': %s", body, retried.body())
                    .isEqualTo(200);
        }
        String id =
                json.readTree(
                                pulse.post(
                                                "/v1/tasks",
                                                "{\"agent\": \"echo\", \"delay_seconds\": 3600}")
                                        .body())
                        .path("id")
                        .asText();
        pulse.post("/v1/tasks/" + id + "/cancel", "");
        assertThat(pulse.post("/v1/tasks/" + id + "/retry", "[]").statusCode())
                .as("not an object")
                .isEqualTo(400);
    }
}
