package dev.pulse.workers.testing;

import dev.pulse.workers.db.DatabaseUrl;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;

/**
 * A real PostgreSQL for integration tests (docs/architecture.md, Testing), chosen in this order:
 * {@code PULSE_TEST_DATABASE_URL} (a JDBC URL of a server the tests may create databases on);
 * Testcontainers when {@code PULSE_TEST_TESTCONTAINERS=true} and a Docker API answers; else an
 * embedded PostgreSQL started once per test JVM. Every call to {@link #create()} makes a fresh,
 * empty database, so test classes never see each other's rows.
 */
public final class TestDatabase {

    private TestDatabase() {}

    /**
     * A new empty database on the test server; migrations are the caller's business. The JDBC URL
     * carries the credentials, so it can be handed on whole (to a child process, say).
     */
    public static DatabaseUrl create() {
        Server server = Holder.SERVER;
        String name =
                "pulse_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        try (Connection c =
                        DriverManager.getConnection(
                                server.adminJdbcUrl(), server.user(), server.password());
                Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException(
                    "cannot create a test database on " + server.description(), e);
        }
        return new DatabaseUrl(server.jdbcUrlFor(name), null, null);
    }

    /** Where the test server came from, for test output. */
    public static String description() {
        return Holder.SERVER.description();
    }

    record Server(String adminJdbcUrl, String user, String password, String description) {

        String jdbcUrlFor(String database) {
            // jdbc:postgresql://host:port/db?params -> the same server, another database,
            // credentials inline
            int slash = adminJdbcUrl.indexOf('/', "jdbc:postgresql://".length());
            int query = adminJdbcUrl.indexOf('?');
            List<String> params = new ArrayList<>();
            if (query >= 0) {
                params.add(adminJdbcUrl.substring(query + 1));
            }
            if (user != null) {
                params.add("user=" + encode(user));
            }
            if (password != null) {
                params.add("password=" + encode(password));
            }
            return adminJdbcUrl.substring(0, slash + 1)
                    + database
                    + (params.isEmpty() ? "" : "?" + String.join("&", params));
        }

        private static String encode(String s) {
            return URLEncoder.encode(s, StandardCharsets.UTF_8);
        }
    }

    /** Resolved once per JVM, on first use; the embedded server is stopped when the JVM exits. */
    private static final class Holder {
        static final Server SERVER = resolve();

        private static Server resolve() {
            String url = System.getenv("PULSE_TEST_DATABASE_URL");
            if (url != null && !url.isBlank()) {
                DatabaseUrl parsed = DatabaseUrl.parse(url);
                return new Server(
                        parsed.jdbcUrl(),
                        parsed.user(),
                        parsed.password(),
                        "PULSE_TEST_DATABASE_URL");
            }
            if ("true"
                    .equals(
                            String.valueOf(System.getenv("PULSE_TEST_TESTCONTAINERS"))
                                    .toLowerCase(Locale.ROOT))) {
                if (DockerClientFactory.instance().isDockerAvailable()) {
                    PostgreSQLContainer container = new PostgreSQLContainer("postgres:17-alpine");
                    container.start();
                    Runtime.getRuntime().addShutdownHook(new Thread(container::stop));
                    return new Server(
                            container.getJdbcUrl(),
                            container.getUsername(),
                            container.getPassword(),
                            "Testcontainers " + container.getDockerImageName());
                }
                System.err.println(
                        "!!! PULSE_TEST_TESTCONTAINERS=true but no Docker API answers: using embedded PostgreSQL");
            }
            try {
                EmbeddedPostgres pg = EmbeddedPostgres.builder().start();
                Runtime.getRuntime()
                        .addShutdownHook(
                                new Thread(
                                        () -> {
                                            try {
                                                pg.close();
                                            } catch (IOException e) {
                                                // the JVM is exiting; the temporary cluster goes
                                                // with it
                                            }
                                        }));
                return new Server(
                        pg.getJdbcUrl("postgres", "postgres"),
                        "postgres",
                        null,
                        "embedded PostgreSQL on port " + pg.getPort());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot start the embedded PostgreSQL for tests", e);
            }
        }
    }
}
