package dev.pulse.server.cli;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A PostgreSQL owned by one test, which the test can stop and start again: same data directory,
 * same port, so the nodes pointed at it find it again by themselves. (The shared {@code
 * TestDatabase} server can't be used for that: other tests' databases live on it.)
 */
final class RestartablePostgres implements AutoCloseable {

    private final Path dataDirectory;
    private final int port;
    private EmbeddedPostgres postgres;

    private RestartablePostgres(Path dataDirectory, int port) {
        this.dataDirectory = dataDirectory;
        this.port = port;
    }

    /** Starts a fresh cluster in {@code dataDirectory} on a free port. */
    static RestartablePostgres start(Path dataDirectory) throws IOException {
        Files.createDirectories(dataDirectory);
        RestartablePostgres pg = new RestartablePostgres(dataDirectory, freePort());
        pg.start();
        return pg;
    }

    /** Starts the server (again) on the same data directory and port. */
    synchronized void start() throws IOException {
        if (postgres != null) {
            throw new IllegalStateException("already running");
        }
        postgres =
                EmbeddedPostgres.builder()
                        .setDataDirectory(dataDirectory)
                        .setCleanDataDirectory(false)
                        .setPort(port)
                        .start();
    }

    /** Stops the server ({@code pg_ctl stop -m fast}: every client connection is cut). */
    synchronized void stop() throws IOException {
        if (postgres != null) {
            EmbeddedPostgres running = postgres;
            postgres = null;
            running.close();
        }
    }

    /** Stops and starts the server; returns how long it was unavailable. */
    Duration restart(Duration keepDown) throws IOException, InterruptedException {
        long down = System.nanoTime();
        stop();
        Thread.sleep(keepDown.toMillis());
        start();
        return Duration.ofNanos(System.nanoTime() - down);
    }

    String jdbcUrl() {
        return "jdbc:postgresql://localhost:" + port + "/postgres?user=postgres";
    }

    int port() {
        return port;
    }

    @Override
    public void close() throws IOException {
        stop();
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
