package dev.pulse.server.db;

import dev.pulse.workers.db.DatabaseUrl;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A real PostgreSQL started from the bundled binaries, with its data kept under
 * {@code <data_dir>/postgres} so it survives restarts. For a first start with no setup; a
 * production deployment points {@code PULSE_DATABASE_URL} at its own PostgreSQL instead.
 */
public final class EmbeddedDatabase implements AutoCloseable {

    private final EmbeddedPostgres postgres;

    private EmbeddedDatabase(EmbeddedPostgres postgres) {
        this.postgres = postgres;
    }

    public static EmbeddedDatabase start(Path dataDir) {
        Path pgData = dataDir.resolve("postgres").toAbsolutePath();
        try {
            Files.createDirectories(pgData);
            return new EmbeddedDatabase(EmbeddedPostgres.builder()
                    .setDataDirectory(pgData)
                    .setCleanDataDirectory(false)
                    .start());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the embedded PostgreSQL in " + pgData
                    + " (is another Pulse using this data directory? set PULSE_DATA_DIR to another one,"
                    + " or PULSE_DATABASE_URL to use your own PostgreSQL)", e);
        }
    }

    public DatabaseUrl url() {
        return DatabaseUrl.parse(postgres.getJdbcUrl("postgres", "postgres"));
    }

    @Override
    public void close() throws IOException {
        postgres.close();
    }
}
