package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;

/**
 * Responses are gzip-compressed for a client that accepts it once they are large enough, JSON and
 * problem+json alike, and small ones are sent as they are (the server names the JSON types as
 * compressible itself, so this is its own setting, not only Javalin's default).
 */
class CompressionTest {

    private final ObjectMapper json = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();

    @Test
    void largeJsonIsGzippedForAClientThatAcceptsItAndSmallResponsesAreNot() throws Exception {
        try (TestNode pulse = new TestNode()) {
            for (int i = 0; i < 10; i++) {
                assertThat(pulse.post("/v1/tasks", "{\"agent\": \"echo\"}").statusCode())
                        .isEqualTo(201);
            }
            HttpResponse<byte[]> list =
                    http.send(
                            pulse.request("/v1/tasks?limit=10")
                                    .header("Accept-Encoding", "gzip")
                                    .GET()
                                    .build(),
                            HttpResponse.BodyHandlers.ofByteArray());
            assertThat(list.statusCode()).isEqualTo(200);
            assertThat(list.headers().firstValue("Content-Encoding")).contains("gzip");
            assertThat(json.readTree(gunzip(list.body())).path("items").size()).isEqualTo(10);

            HttpResponse<byte[]> small =
                    http.send(
                            pulse.request("/v1/no-such-route")
                                    .header("Accept-Encoding", "gzip")
                                    .GET()
                                    .build(),
                            HttpResponse.BodyHandlers.ofByteArray());
            assertThat(small.statusCode()).isEqualTo(404);
            assertThat(small.headers().firstValue("Content-Encoding")).isEmpty();
            assertThat(json.readTree(small.body()).path("status").asInt()).isEqualTo(404);
        }
    }

    private static byte[] gunzip(byte[] body) throws IOException {
        try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(body))) {
            return in.readAllBytes();
        }
    }
}
