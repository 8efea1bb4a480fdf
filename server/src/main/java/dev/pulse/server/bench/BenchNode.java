package dev.pulse.server.bench;

import dev.pulse.server.PulseNode;
import dev.pulse.server.config.ConfigLoader;
import dev.pulse.server.db.EmbeddedDatabase;
import dev.pulse.workers.db.DatabaseUrl;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Base64;
import java.util.HashMap;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;

/**
 * A Pulse node started for a benchmark: on the given database, or on a fresh embedded
 * PostgreSQL, with its files in a temporary directory that is deleted afterwards. Any {@code PULSE_*} variable
 * of the environment applies, except those the benchmark must own (port, key, database).
 */
final class BenchNode implements AutoCloseable {

    final PulseNode node;
    final Jdbi jdbi;
    final String key;
    final CpuMeter cpu;
    private final EmbeddedDatabase embedded;
    private final Path tempDir;

    BenchNode(String databaseUrl) throws IOException {
        byte[] random = new byte[24];
        new SecureRandom().nextBytes(random);
        this.key = "pulse_bench_" + Base64.getUrlEncoder().withoutPadding().encodeToString(random);
        tempDir = Files.createTempDirectory("pulse-bench");
        // The embedded database exactly as pulse serve runs it, so the figures are what a user gets.
        embedded = databaseUrl == null ? EmbeddedDatabase.start(tempDir) : null;
        if (embedded != null) {
            databaseUrl = embedded.jdbcUrl();
        }
        Map<String, String> overrides = new HashMap<>();
        overrides.put("PULSE_DATABASE_URL", databaseUrl);
        overrides.put("PULSE_HTTP_HOST", "127.0.0.1");
        overrides.put("PULSE_HTTP_PORT", "0");
        overrides.put("PULSE_ADMIN_KEY", key);
        overrides.put("PULSE_RATE_LIMIT", "0");
        overrides.put("PULSE_EGRESS_ALLOW", "127.0.0.1/32");
        overrides.put("PULSE_SCHEDULES_DIR", "/nonexistent-pulse-bench");
        // Files a first start writes (the generated webhook secret) go with the bench, not into the working directory.
        overrides.put("PULSE_DATA_DIR", tempDir.resolve("data").toString());
        java.util.function.Function<String, String> env = name -> overrides.getOrDefault(name, System.getenv(name));
        this.cpu = new CpuMeter(embedded == null ? null : CpuMeter.postmasterOf(embedded.dataDirectory()));
        this.node = PulseNode.start(new ConfigLoader(env).load(null), Clock.systemUTC(), env);
        DatabaseUrl url = DatabaseUrl.parse(databaseUrl);
        this.jdbi = url.user() == null ? Jdbi.create(url.jdbcUrl())
                : Jdbi.create(url.jdbcUrl(), url.user(), url.password() == null ? "" : url.password());
    }

    String url(String path) {
        return "http://127.0.0.1:" + node.port() + path;
    }

    /** One connection kept open for the benchmark's own queries: a new connection per poll costs a backend start. */
    private org.jdbi.v3.core.Handle handle;

    synchronized long count(String sql) {
        return handle().createQuery(sql).mapTo(Long.class).one();
    }

    /** The benchmark's own connection, opened once. */
    synchronized org.jdbi.v3.core.Handle handle() {
        if (handle == null) {
            handle = jdbi.open();
        }
        return handle;
    }

    /** The largest resident set size of this process so far (VmHWM), in MiB, or -1 where /proc is missing. */
    static long peakRssMiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux
        }
        return -1;
    }

    @Override
    public void close() throws IOException {
        synchronized (this) {
            if (handle != null) {
                handle.close();
            }
        }
        node.close();
        if (embedded != null) {
            embedded.close();
        }
        try (var files = Files.walk(tempDir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
