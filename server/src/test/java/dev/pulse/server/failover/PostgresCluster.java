package dev.pulse.server.failover;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real PostgreSQL cluster run from the server binaries installed on this machine ({@code initdb},
 * {@code pg_basebackup}, {@code pg_ctl}), in a directory of its own on a free loopback port: a
 * primary, or a streaming standby of one. As root the binaries run as the {@code postgres} user
 * (initdb refuses root). Unlike the embedded PostgreSQL of the other tests, it can be frozen
 * (SIGSTOP, the way a hung host looks to its clients), killed, and promoted.
 */
final class PostgresCluster implements AutoCloseable {

    private static final Path[] BINARY_DIRS = {
        Path.of("/usr/lib/postgresql/15/bin"),
        Path.of("/usr/lib/postgresql/16/bin"),
        Path.of("/usr/lib/postgresql/17/bin")
    };

    private final Path bin;
    private final Path dir;
    private final int port;
    private volatile boolean frozen;
    private volatile boolean running;

    private PostgresCluster(Path bin, Path dir, int port) {
        this.bin = bin;
        this.dir = dir;
        this.port = port;
    }

    /** The folder of the PostgreSQL server binaries, if installed; tests skip (loudly) without. */
    static Optional<Path> binaries() {
        String env = System.getenv("PULSE_TEST_PG_BINDIR");
        if (env != null && Files.isExecutable(Path.of(env, "initdb"))) {
            return Optional.of(Path.of(env));
        }
        return Stream.of(BINARY_DIRS)
                .filter(d -> Files.isExecutable(d.resolve("initdb")))
                .findFirst();
    }

    /** A fresh temporary directory the server's user ({@code postgres} when root) can write. */
    static Path workDirectory() throws IOException {
        Path dir = Files.createTempDirectory("pulse-pg-");
        chownToPostgres(dir);
        return dir;
    }

    /**
     * A primary for a synchronous standby: WAL for replication, every commit waiting for a standby
     * to have flushed it ({@code synchronous_standby_names = '*'}, so an answered write survives a
     * failover), replication allowed from loopback.
     */
    static PostgresCluster primary(Path bin, Path work) throws IOException, InterruptedException {
        PostgresCluster pg = new PostgresCluster(bin, work.resolve("primary"), freePort());
        pg.run(
                bin.resolve("initdb").toString(),
                "-D",
                pg.dir.toString(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C");
        pg.appendConfig(
                "wal_level = replica",
                "max_wal_senders = 5",
                "wal_keep_size = '256MB'",
                "synchronous_standby_names = '*'",
                "fsync = off",
                "full_page_writes = off",
                "max_connections = 100",
                "shared_buffers = '32MB'");
        Files.writeString(
                pg.dir.resolve("pg_hba.conf"),
                "local all all trust\n"
                        + "host all all 127.0.0.1/32 trust\n"
                        + "host replication all 127.0.0.1/32 trust\n");
        pg.start();
        return pg;
    }

    /**
     * A streaming standby of {@code primary} ({@code pg_basebackup -R}), started and caught up. Its
     * own {@code synchronous_standby_names} is emptied: once promoted it has no standby of its own
     * to wait for, as Patroni arranges it.
     */
    static PostgresCluster standbyOf(PostgresCluster primary, Path work)
            throws IOException, InterruptedException {
        PostgresCluster pg = new PostgresCluster(primary.bin, work.resolve("standby"), freePort());
        pg.run(
                primary.bin.resolve("pg_basebackup").toString(),
                "-h",
                "127.0.0.1",
                "-p",
                Integer.toString(primary.port),
                "-U",
                "postgres",
                "-D",
                pg.dir.toString(),
                "-R",
                "-X",
                "stream",
                "--no-sync");
        pg.appendAutoConfig("port = " + pg.port, "synchronous_standby_names = ''");
        pg.start();
        return pg;
    }

    private void appendConfig(String... lines) throws IOException {
        List<String> all = new ArrayList<>(List.of(lines));
        all.add("port = " + port);
        all.add("listen_addresses = '127.0.0.1'");
        all.add("unix_socket_directories = '" + dir + "'");
        Files.writeString(
                dir.resolve("postgresql.conf"),
                "\n" + String.join("\n", all) + "\n",
                java.nio.file.StandardOpenOption.APPEND);
    }

    private void appendAutoConfig(String... lines) throws IOException {
        Files.writeString(
                dir.resolve("postgresql.auto.conf"),
                "\n" + String.join("\n", lines) + "\nunix_socket_directories = '" + dir + "'\n",
                java.nio.file.StandardOpenOption.APPEND);
    }

    void start() throws IOException, InterruptedException {
        run(
                bin.resolve("pg_ctl").toString(),
                "-D",
                dir.toString(),
                "-l",
                dir.resolve("server.log").toString(),
                "-w",
                "-t",
                "120",
                "start");
        running = true;
    }

    /** Makes this standby the primary ({@code pg_ctl promote}, waiting until it accepts writes). */
    void promote() throws IOException, InterruptedException {
        run(bin.resolve("pg_ctl").toString(), "-D", dir.toString(), "-w", "-t", "120", "promote");
    }

    /**
     * Freezes the postmaster and every one of its processes (SIGSTOP): their sockets stay open and
     * say nothing, as a hung host's do.
     */
    void freeze() throws IOException, InterruptedException {
        List<Long> pids = processes();
        signal("STOP", pids);
        frozen = true;
    }

    /** Lets a frozen cluster run again. */
    void thaw() throws IOException, InterruptedException {
        if (frozen) {
            signal("CONT", processes());
            frozen = false;
        }
    }

    /**
     * Kills the postmaster and every one of its processes at once (SIGKILL), as a crash of the host
     * does: the kernel resets their connections.
     */
    void kill() throws IOException, InterruptedException {
        signal("KILL", processes());
        running = false;
    }

    /** The postmaster, then its children: frozen first, it forks no new ones. */
    private List<Long> processes() throws IOException {
        long postmaster = postmasterPid();
        List<Long> pids = new ArrayList<>();
        pids.add(postmaster);
        ProcessHandle.of(postmaster)
                .ifPresent(p -> p.descendants().forEach(d -> pids.add(d.pid())));
        return pids;
    }

    private long postmasterPid() throws IOException {
        return Long.parseLong(Files.readAllLines(dir.resolve("postmaster.pid")).get(0).trim());
    }

    private static void signal(String signal, List<Long> pids)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("kill", "-" + signal));
        pids.forEach(p -> command.add(Long.toString(p)));
        new ProcessBuilder(command).inheritIO().start().waitFor(30, TimeUnit.SECONDS);
    }

    int port() {
        return port;
    }

    String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/postgres?user=postgres";
    }

    /** The server's log, for a failed test's message. */
    String logTail() {
        try {
            List<String> lines = Files.readAllLines(dir.resolve("server.log"));
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /**
     * Stops the cluster whatever its state: a frozen one is let go first, then everything is
     * stopped at once ({@code -m immediate}); the processes of a killed one are gone already.
     */
    @Override
    public void close() throws IOException, InterruptedException {
        thaw();
        if (running && Files.exists(dir.resolve("postmaster.pid"))) {
            try {
                run(
                        bin.resolve("pg_ctl").toString(),
                        "-D",
                        dir.toString(),
                        "-m",
                        "immediate",
                        "-w",
                        "-t",
                        "60",
                        "stop");
            } catch (IOException e) {
                // Reported by pg_ctl on stderr; killing what is left is all that remains.
                signal("KILL", processes());
            }
        }
        running = false;
    }

    private void run(String... command) throws IOException, InterruptedException {
        List<String> full = new ArrayList<>();
        if (isRoot()) {
            full.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        full.addAll(List.of(command));
        Process p =
                new ProcessBuilder(full)
                        .redirectErrorStream(true)
                        .directory(dir.getParent().toFile())
                        .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(5, TimeUnit.MINUTES) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException(
                    String.join(" ", command) + " failed:\n" + out + "\n" + logTail());
        }
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    private static void chownToPostgres(Path dir) throws IOException {
        if (!isRoot()) {
            return;
        }
        try {
            Process p =
                    new ProcessBuilder("chown", "postgres:", dir.toString()).inheritIO().start();
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IOException("chown postgres " + dir + " failed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Deletes a work directory made by {@link #workDirectory}. */
    static void delete(Path work) throws IOException {
        try (Stream<Path> paths = Files.walk(work)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
