package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.workers.keys.ApiKeyStore;
import dev.pulse.workers.keys.Scope;
import dev.pulse.workers.testing.TestDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** Every route but health needs a key with the route's scope; keys are stored hashed. */
class AuthTest {

    private static final ObjectMapper json = new ObjectMapper();
    private static final HttpClient http = HttpClient.newHttpClient();
    private static TestNode pulse;
    private static ApiKeyStore keys;

    @BeforeAll
    static void start() {
        pulse = new TestNode();
        keys = new ApiKeyStore(pulse.jdbi, new SecureRandom());
    }

    @AfterAll
    static void stop() {
        pulse.close();
    }

    @Test
    void healthNeedsNoKeyButEveryApiRouteDoes() throws Exception {
        long tasksBefore = pulse.count("SELECT count(*) FROM tasks");
        assertThat(call("GET", "/health/live", null, null).statusCode()).isEqualTo(200);
        assertThat(call("GET", "/health/ready", null, null).statusCode()).isEqualTo(200);
        for (String[] route :
                new String[][] {
                    {"GET", "/v1/tasks"},
                    {"POST", "/v1/tasks"},
                    {"GET", "/v1/schedules"},
                    {"POST", "/v1/schedules/x/trigger"},
                    {"GET", "/v1/agents"}
                }) {
            HttpResponse<String> response = call(route[0], route[1], null, "{}");
            assertThat(response.statusCode()).as(route[0] + " " + route[1]).isEqualTo(401);
            assertThat(response.headers().firstValue("Content-Type"))
                    .contains("application/problem+json");
            assertThat(response.headers().firstValue("WWW-Authenticate")).isPresent();
        }
        assertThat(
                        call("GET", "/v1/tasks", "pulse_not_a_real_key_at_all_123456", null)
                                .statusCode())
                .isEqualTo(401);
        assertThat(pulse.count("SELECT count(*) FROM tasks"))
                .as("nothing was written")
                .isEqualTo(tasksBefore);
    }

    @Test
    void scopesAreEnforcedPerRoute() throws Exception {
        String reader = keys.create("reader", EnumSet.of(Scope.TASKS_READ));
        assertThat(call("GET", "/v1/tasks", reader, null).statusCode()).isEqualTo(200);
        HttpResponse<String> write = call("POST", "/v1/tasks", reader, "{\"agent\": \"echo\"}");
        assertThat(write.statusCode()).isEqualTo(403);
        assertThat(json.readTree(write.body()).path("detail").asText()).contains("tasks:write");
        assertThat(call("GET", "/v1/schedules", reader, null).statusCode()).isEqualTo(403);

        String writer = keys.create("writer", EnumSet.of(Scope.TASKS_WRITE, Scope.TASKS_READ));
        assertThat(call("POST", "/v1/tasks", writer, "{\"agent\": \"echo\"}").statusCode())
                .isEqualTo(201);
    }

    @Test
    void idempotencyKeysAreUniquePerApiKeySoClientsNeverSeeEachOthersTasks() throws Exception {
        String alice = keys.create("alice", EnumSet.of(Scope.TASKS_WRITE));
        String bob = keys.create("bob", EnumSet.of(Scope.TASKS_WRITE));
        String body = "{\"agent\": \"echo\", \"idempotency_key\": \"order-1\"}";

        HttpResponse<String> aliceFirst = call("POST", "/v1/tasks", alice, body);
        HttpResponse<String> bobFirst = call("POST", "/v1/tasks", bob, body);
        HttpResponse<String> aliceAgain = call("POST", "/v1/tasks", alice, body);

        assertThat(aliceFirst.statusCode()).isEqualTo(201);
        assertThat(bobFirst.statusCode())
                .as("another client's key of the same name is another task")
                .isEqualTo(201);
        assertThat(aliceAgain.statusCode()).isEqualTo(200);
        String aliceTask = json.readTree(aliceFirst.body()).path("id").asText();
        assertThat(json.readTree(bobFirst.body()).path("id").asText()).isNotEqualTo(aliceTask);
        assertThat(json.readTree(aliceAgain.body()).path("id").asText()).isEqualTo(aliceTask);
    }

    @Test
    void aRevokedKeyStopsWorkingAndKeysAreStoredOnlyAsHashes() throws Exception {
        String key = keys.create("short-lived", EnumSet.of(Scope.ADMIN));
        assertThat(call("GET", "/v1/agents", key, null).statusCode()).isEqualTo(200);
        assertThat(call("GET", "/v1/agents", key, null).statusCode())
                .as("served from the node's key cache")
                .isEqualTo(200);
        assertThat(keys.revoke("short-lived")).isTrue();
        // Revoked elsewhere (as pulse keys revoke does): the node hears of it by notification,
        // milliseconds after the commit, and refuses the key from then on.
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (call("GET", "/v1/agents", key, null).statusCode() != 401) {
            assertThat(System.nanoTime()).as("refused within 30 s").isLessThan(deadline);
            Thread.sleep(5);
        }
        assertThat(call("GET", "/v1/agents", key, null).statusCode()).isEqualTo(401);

        String everything =
                Jdbi.create(pulse.database.jdbcUrl())
                        .withHandle(
                                h ->
                                        h.createQuery(
                                                        "SELECT string_agg(name || prefix || key_hash || array_to_string(scopes, ','), ' ') FROM api_keys")
                                                .mapTo(String.class)
                                                .one());
        assertThat(everything).doesNotContain(key).doesNotContain(TestNode.ADMIN_KEY);
    }

    @Test
    void aNewInstallationWithoutAConfiguredKeyGetsOneGeneratedAdminKeyOnceInAFileNotTheLog(
            @TempDir Path dataDir) throws Exception {
        var database = TestDatabase.create();
        Map<String, String> env = new HashMap<>();
        env.put("PULSE_ADMIN_KEY", "");
        env.put("PULSE_WEBHOOK_SECRET", "");
        env.put("PULSE_DATA_DIR", dataDir.toString());
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        logs.start();
        root.addAppender(logs);
        try (TestNode first = new TestNode(database, env)) {
            assertThat(first.count("SELECT count(*) FROM api_keys WHERE 'admin' = ANY(scopes)"))
                    .isEqualTo(1);
            Path keyFile = dataDir.resolve("generated-admin-key");
            assertThat(Files.getPosixFilePermissions(keyFile))
                    .isEqualTo(PosixFilePermissions.fromString("rw-------"));
            String key = Files.readString(keyFile).trim();
            assertThat(
                            http.send(
                                            HttpRequest.newBuilder(
                                                            URI.create(first.url("/v1/agents")))
                                                    .header("Authorization", "Bearer " + key)
                                                    .build(),
                                            HttpResponse.BodyHandlers.ofString())
                                    .statusCode())
                    .as("the written key works")
                    .isEqualTo(200);
            String secret = Files.readString(dataDir.resolve("generated-webhook-secret")).trim();
            assertThat(secret).startsWith("whsec_");
            String logged =
                    logs.list.stream()
                            .map(ILoggingEvent::getFormattedMessage)
                            .collect(Collectors.joining("\n"));
            assertThat(logged)
                    .contains(keyFile.toString())
                    .doesNotContain(key)
                    .doesNotContain(secret);
        } finally {
            root.detachAppender(logs);
        }
        try (TestNode second = new TestNode(database, env)) {
            assertThat(second.count("SELECT count(*) FROM api_keys"))
                    .as("not generated again")
                    .isEqualTo(1);
        }
    }

    private static HttpResponse<String> call(String method, String path, String key, String body)
            throws Exception {
        HttpRequest.Builder request =
                HttpRequest.newBuilder(URI.create(pulse.url(path)))
                        .method(
                                method,
                                body == null
                                        ? HttpRequest.BodyPublishers.noBody()
                                        : HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            request.header("Authorization", "Bearer " + key);
        }
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }
}
