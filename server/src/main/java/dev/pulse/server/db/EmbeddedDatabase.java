package dev.pulse.server.db;

import dev.pulse.workers.db.DatabaseUrl;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A real PostgreSQL started from the bundled binaries, with its data kept under {@code
 * <data_dir>/postgres} so it survives restarts. For a first start with no setup; a production
 * deployment points {@code PULSE_DATABASE_URL} at its own PostgreSQL instead.
 */
public final class EmbeddedDatabase implements AutoCloseable {

    private final EmbeddedPostgres postgres;
    private final Path dataDirectory;

    private EmbeddedDatabase(EmbeddedPostgres postgres, Path dataDirectory) {
        this.postgres = postgres;
        this.dataDirectory = dataDirectory;
    }

    public static EmbeddedDatabase start(Path dataDir) {
        Path pgData = dataDir.resolve("postgres").toAbsolutePath();
        try {
            Files.createDirectories(pgData);
            return new EmbeddedDatabase(
                    EmbeddedPostgres.builder()
                            .setDataDirectory(pgData)
                            .setCleanDataDirectory(false)
                            // zonky's default is off, which can lose the last commits (accepted
                            // tasks among
                            // them) when the machine crashes. On costs the burn-down about 8 %, as
                            // commits
                            // come in batches (docs/benchmarks.md, fifth session).
                            .setServerConfig("synchronous_commit", "on")
                            .start(),
                    pgData);
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "cannot start the embedded PostgreSQL in "
                            + pgData
                            + " (is another Pulse using this data directory? set PULSE_DATA_DIR to another one,"
                            + " or PULSE_DATABASE_URL to use your own PostgreSQL)",
                    e);
        }
    }

    public DatabaseUrl url() {
        return DatabaseUrl.parse(jdbcUrl());
    }

    /** PostgreSQL's own data directory, {@code <data_dir>/postgres}. */
    public Path dataDirectory() {
        return dataDirectory;
    }

    public String jdbcUrl() {
        return postgres.getJdbcUrl("postgres", "postgres");
    }

    @Override
    public void close() throws IOException {
        postgres.close();
    }
}
