package dev.pulse.server;

import dev.pulse.server.config.ConfigLoader;
import dev.pulse.server.config.PulseConfig;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.testing.TestDatabase;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;

/**
 * A whole Pulse node started in this JVM on a fresh test database, with an HTTP client for its API.
 */
public final class TestNode implements AutoCloseable {

    /** The webhook secret test nodes sign with, so receivers in tests can verify callbacks. */
    public static final String WEBHOOK_SECRET =
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwWu0EYEXUWNc=";

    public static final Path SHIPPED_AGENTS = Path.of("..", "config", "agents");

    /** The admin key test nodes accept (PULSE_ADMIN_KEY); their HTTP helpers send it. */
    public static final String ADMIN_KEY = "pulse_test_admin_key_0123456789abcdef";

    public final DatabaseUrl database;
    public final PulseNode node;
    public final Jdbi jdbi;

    /** Every response this node sends, checked against openapi.yaml; a mismatch fails the test. */
    public final DocumentedResponses responses = new DocumentedResponses();

    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    public TestNode() {
        this(TestDatabase.create(), Map.of());
    }

    public TestNode(DatabaseUrl database, Map<String, String> extraEnvironment) {
        this.database = database;
        Map<String, String> env = new HashMap<>(baseEnvironment(database));
        env.putAll(extraEnvironment);
        PulseConfig config = new ConfigLoader(env::get).load(null);
        this.node = PulseNode.start(config, Clock.systemUTC(), env::get, responses::install);
        this.jdbi = Jdbi.create(database.jdbcUrl());
    }

    /**
     * The environment of a node on {@code database}: any free port, fast polling, the shipped
     * agents.
     */
    public static Map<String, String> baseEnvironment(DatabaseUrl database) {
        Map<String, String> env = new HashMap<>();
        if (database != null) {
            env.put("PULSE_DATABASE_URL", database.jdbcUrl());
        }
        env.put("PULSE_HTTP_HOST", "127.0.0.1");
        env.put("PULSE_HTTP_PORT", "0");
        env.put("PULSE_WEBHOOK_SECRET", WEBHOOK_SECRET);
        env.put("PULSE_WORKER_POLL_INTERVAL", "100ms");
        env.put("PULSE_LEASE_SECONDS", "2");
        env.put("PULSE_AGENTS_DIR", SHIPPED_AGENTS.toString());
        env.put("PULSE_ADMIN_KEY", ADMIN_KEY);
        env.put(
                "PULSE_EGRESS_ALLOW",
                "127.0.0.1/32"); // callback receivers in tests are loopback stand-ins
        env.put("PULSE_RATE_LIMIT", "0"); // load tests hammer one key; the limit has its own test
        return env;
    }

    public String url(String path) {
        return "http://127.0.0.1:" + node.port() + path;
    }

    public HttpResponse<String> post(String path, String body) {
        return send(request(path).POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    public HttpResponse<String> get(String path) {
        return send(request(path).GET().build());
    }

    public HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(url(path)))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + ADMIN_KEY);
    }

    public HttpResponse<String> send(HttpRequest request) {
        try {
            HttpResponse<String> response =
                    http.send(request, HttpResponse.BodyHandlers.ofString());
            responses.assertAllMatched();
            return response;
        } catch (IOException e) {
            throw new IllegalStateException(request.method() + " " + request.uri() + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    public long count(String sql) {
        return jdbi.withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
    }

    /** Stops the node, then fails if any response it sent did not match openapi.yaml. */
    @Override
    public void close() {
        node.close();
        responses.assertAllMatched();
    }
}
