package dev.pulse.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.PulseNode;
import dev.pulse.server.TestNode;
import dev.pulse.server.api.docs.DocumentedHttp;
import dev.pulse.server.config.ConfigLoader;
import dev.pulse.server.db.EmbeddedDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * With no database URL, a node runs on an embedded PostgreSQL whose data survives a restart and a
 * crash.
 */
class EmbeddedDatabaseTest {

    private final ObjectMapper json = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();

    @TempDir Path dataDir;

    @Test
    void tasksSurviveARestartOfANodeOnTheEmbeddedDatabase() throws Exception {
        Map<String, String> env = new HashMap<>(TestNode.baseEnvironment(null));
        env.put("PULSE_DATA_DIR", dataDir.toString());
        env.remove("PULSE_WEBHOOK_SECRET");

        String id;
        try (PulseNode first = start(env)) {
            HttpResponse<String> created =
                    DocumentedHttp.checked(
                            http.send(
                                    HttpRequest.newBuilder(URI.create(url(first, "/v1/tasks")))
                                            .header("Authorization", "Bearer " + TestNode.ADMIN_KEY)
                                            .header("Content-Type", "application/json")
                                            .POST(
                                                    HttpRequest.BodyPublishers.ofString(
                                                            "{\"agent\": \"echo\", \"delay_seconds\": 3600}"))
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString()));
            assertThat(created.statusCode()).isEqualTo(201);
            id = json.readTree(created.body()).path("id").asText();
        }
        assertThat(dataDir.resolve("postgres").resolve("PG_VERSION")).exists();

        try (PulseNode second = start(env)) {
            HttpResponse<String> fetched =
                    DocumentedHttp.checked(
                            http.send(
                                    HttpRequest.newBuilder(
                                                    URI.create(url(second, "/v1/tasks/" + id)))
                                            .header("Authorization", "Bearer " + TestNode.ADMIN_KEY)
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString()));
            assertThat(fetched.statusCode()).isEqualTo(200);
            JsonNode task = json.readTree(fetched.body());
            assertThat(task.path("state").asText()).isEqualTo("scheduled");
        }
    }

    @Test
    void theEmbeddedDatabaseWaitsForItsCommitsToReachTheDisk() throws Exception {
        try (EmbeddedDatabase db = EmbeddedDatabase.start(dataDir)) {
            String setting =
                    Jdbi.create(db.jdbcUrl())
                            .withHandle(
                                    h ->
                                            h.createQuery("SHOW synchronous_commit")
                                                    .mapTo(String.class)
                                                    .one());
            assertThat(setting)
                    .as("zonky's default, off, can lose accepted tasks when the machine crashes")
                    .isEqualTo("on");
        }
    }

    private static PulseNode start(Map<String, String> env) {
        return PulseNode.start(new ConfigLoader(env::get).load(null), Clock.systemUTC(), env::get);
    }

    private static String url(PulseNode node, String path) {
        return "http://127.0.0.1:" + node.port() + path;
    }
}
