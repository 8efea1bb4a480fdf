package dev.pulse.server.failover;

import dev.pulse.workers.db.DatabaseUrl;
import java.io.IOException;
import java.net.Socket;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real PgBouncer (Debian's package) in transaction pooling mode, started by a test on a free
 * loopback port in front of one database, with fewer server connections than a node's pool, so that
 * consecutive transactions of one client connection land on different server connections. As root
 * it runs as the {@code postgres} user (PgBouncer refuses root).
 */
final class PgBouncer implements AutoCloseable {

    private static final Pattern JDBC =
            Pattern.compile("jdbc:postgresql://([^:/,]+):(\\d+)/([^?]+)(?:\\?(.*))?");

    private final Process process;
    private final int port;
    private final Path dir;

    private PgBouncer(Process process, int port, Path dir) {
        this.process = process;
        this.port = port;
        this.dir = dir;
    }

    /** The pgbouncer binary: {@code PULSE_PGBOUNCER}, the PATH or /usr/sbin; empty without. */
    static Optional<Path> binary() {
        List<Path> candidates = new ArrayList<>();
        String env = System.getenv("PULSE_PGBOUNCER");
        if (env != null && !env.isBlank()) {
            candidates.add(Path.of(env));
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            candidates.add(Path.of(dir, "pgbouncer"));
        }
        candidates.add(Path.of("/usr/sbin/pgbouncer"));
        return candidates.stream().filter(Files::isExecutable).findFirst();
    }

    /** Starts PgBouncer in front of {@code database}, as the database {@code pulse}. */
    static PgBouncer start(Path binary, DatabaseUrl database, Path work)
            throws IOException, InterruptedException {
        Matcher m = JDBC.matcher(database.jdbcUrl());
        if (!m.matches()) {
            throw new IllegalArgumentException("not a one-host JDBC URL: " + database.jdbcUrl());
        }
        Map<String, String> params = new HashMap<>();
        if (m.group(4) != null) {
            for (String kv : m.group(4).split("&")) {
                String[] p = kv.split("=", 2);
                params.put(
                        p[0], p.length > 1 ? URLDecoder.decode(p[1], StandardCharsets.UTF_8) : "");
            }
        }
        String user =
                database.user() != null ? database.user() : params.getOrDefault("user", "postgres");
        String password =
                database.password() != null ? database.password() : params.get("password");
        int port = PostgresCluster.freePort();
        Path ini = work.resolve("pgbouncer.ini");
        Files.writeString(
                ini,
                """
                [databases]
                pulse = host=%s port=%s dbname=%s user=%s%s

                [pgbouncer]
                listen_addr = 127.0.0.1
                listen_port = %d
                unix_socket_dir =
                auth_type = any
                pool_mode = transaction
                default_pool_size = 4
                reserve_pool_size = 0
                max_client_conn = 500
                ignore_startup_parameters = extra_float_digits
                server_check_delay = 0
                """
                        .formatted(
                                m.group(1).equals("localhost") ? "127.0.0.1" : m.group(1),
                                m.group(2),
                                m.group(3),
                                user,
                                password == null ? "" : " password=" + password,
                                port));
        List<String> command = new ArrayList<>();
        if ("root".equals(System.getProperty("user.name"))) {
            command.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        command.addAll(List.of(binary.toString(), ini.toString()));
        Process process =
                new ProcessBuilder(command)
                        .redirectErrorStream(true)
                        .redirectOutput(work.resolve("pgbouncer.log").toFile())
                        .start();
        PgBouncer bouncer = new PgBouncer(process, port, work);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!bouncer.listening()) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                bouncer.close();
                throw new IOException("pgbouncer did not start:\n" + bouncer.log());
            }
            Thread.sleep(50);
        }
        return bouncer;
    }

    private boolean listening() {
        try (Socket s = new Socket("127.0.0.1", port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The JDBC URL of the pooled database, as given to Pulse (nothing added for the pooler). */
    String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/pulse";
    }

    String log() {
        try {
            return Files.readString(dir.resolve("pgbouncer.log"));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
    }
}
