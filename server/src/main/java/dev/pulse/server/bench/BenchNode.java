package dev.pulse.server.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.PulseNode;
import dev.pulse.server.config.ConfigLoader;
import dev.pulse.server.db.EmbeddedDatabase;
import dev.pulse.workers.agents.AgentStore;
import dev.pulse.workers.db.Database;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.json.JsonMapper;
import dev.pulse.workers.keys.ApiKeyStore;
import dev.pulse.workers.keys.Scope;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * A Pulse node started for a benchmark: on the given database, or on a fresh embedded PostgreSQL,
 * with its files in a temporary directory that is deleted afterwards. Any {@code PULSE_*} variable
 * of the environment applies, except those the benchmark must own (port, database).
 *
 * <p>The benchmark makes its own admin key, stored under a name of its own before the node starts,
 * and removes it when done, so it works on any database: an empty one (which then stays without
 * keys, and the first real start generates the admin key as usual) or one that already holds Pulse
 * and its keys. With {@code limitedAgents}, it also stores an agent with that {@code
 * max_concurrency} before the node starts (removed afterwards), so the queue claims as it does
 * while some agent has a limit.
 */
final class BenchNode implements AutoCloseable {

    final PulseNode node;

    /**
     * Worker-only nodes on the same database beside {@link #node} ({@code --nodes}), as a cluster
     * would claim.
     */
    final List<PulseNode> workers = new ArrayList<>();

    final Jdbi jdbi;
    final String key;
    final CpuMeter cpu;
    private final EmbeddedDatabase embedded;
    private final Path tempDir;
    private final Database setup;
    private final String keyName;
    private final String limitedAgent;

    /**
     * The agent {@code --limited-agent} stores: never given tasks, only there so that a limit
     * exists.
     */
    static final String LIMITED_AGENT = "bench-limited";

    private final boolean keyedAgent;

    BenchNode(String databaseUrl) throws IOException {
        this(databaseUrl, 0, 1, KeySpread.NONE);
    }

    /**
     * @param limitedAgent the max_concurrency of an extra agent stored for the run, or 0 for none
     * @param nodes how many nodes claim: the first serves the API too, the others are worker-only
     * @param spread with a per-key concurrency, the agent its tasks go to is stored for the run
     */
    BenchNode(String databaseUrl, int limitedAgent, int nodes, KeySpread spread)
            throws IOException {
        SecureRandom random = new SecureRandom();
        tempDir = Files.createTempDirectory("pulse-bench");
        // The embedded database exactly as pulse serve runs it, so the figures are what a user
        // gets.
        embedded = databaseUrl == null ? EmbeddedDatabase.start(tempDir) : null;
        if (embedded != null) {
            databaseUrl = embedded.jdbcUrl();
        }
        DatabaseUrl url = DatabaseUrl.parse(databaseUrl);
        setup = Database.connect(url, 2);
        setup.migrate();
        keyName = "bench-" + UUID.randomUUID();
        key = new ApiKeyStore(setup.jdbi(), random).create(keyName, EnumSet.of(Scope.ADMIN));
        this.limitedAgent = limitedAgent > 0 ? LIMITED_AGENT : null;
        if (limitedAgent > 0) {
            ObjectMapper json = JsonMapper.create();
            new AgentStore(setup.jdbi(), json)
                    .save(
                            LIMITED_AGENT,
                            json.readTree(
                                    """
                    {"apiVersion": "pulse/v1", "kind": "Agent", "metadata": {"name": "%s"},
                     "spec": {"executor": "local", "max_concurrency": %d, "local": {"command": ["cat"]}}}
                    """
                                            .formatted(LIMITED_AGENT, limitedAgent)),
                            null,
                            "pulse bench --limited-agent");
        }
        this.keyedAgent = spread.perKeyConcurrency() > 0;
        if (keyedAgent) {
            ObjectMapper json = JsonMapper.create();
            new AgentStore(setup.jdbi(), json)
                    .save(
                            KeySpread.KEYED_AGENT,
                            json.readTree(spread.keyedAgentDocument()),
                            null,
                            "pulse bench --per-key-concurrency");
        }
        Map<String, String> overrides = new HashMap<>();
        overrides.put("PULSE_DATABASE_URL", databaseUrl);
        overrides.put("PULSE_HTTP_HOST", "127.0.0.1");
        overrides.put("PULSE_HTTP_PORT", "0");
        overrides.put("PULSE_RATE_LIMIT", "0");
        overrides.put("PULSE_EGRESS_ALLOW", "127.0.0.1/32");
        overrides.put("PULSE_SCHEDULES_DIR", "/nonexistent-pulse-bench");
        // Files a first start writes (the generated webhook secret) go with the bench, not into the
        // working directory.
        overrides.put("PULSE_DATA_DIR", tempDir.resolve("data").toString());
        Function<String, String> env = name -> overrides.getOrDefault(name, System.getenv(name));
        this.cpu =
                new CpuMeter(
                        embedded == null ? null : CpuMeter.postmasterOf(embedded.dataDirectory()));
        try {
            this.node = PulseNode.start(new ConfigLoader(env).load(null), Clock.systemUTC(), env);
            Map<String, String> workerOverrides = new HashMap<>(overrides);
            workerOverrides.put("PULSE_ROLES", "worker");
            Function<String, String> workerEnv =
                    name -> workerOverrides.getOrDefault(name, System.getenv(name));
            for (int i = 1; i < nodes; i++) {
                workers.add(
                        PulseNode.start(
                                new ConfigLoader(workerEnv).load(null),
                                Clock.systemUTC(),
                                workerEnv));
            }
        } catch (RuntimeException e) {
            workers.forEach(PulseNode::close);
            removeWhatTheBenchAdded();
            throw e;
        }
        this.jdbi =
                url.user() == null
                        ? Jdbi.create(url.jdbcUrl())
                        : Jdbi.create(
                                url.jdbcUrl(),
                                url.user(),
                                url.password() == null ? "" : url.password());
    }

    /** Every node of the bench, the API's first. */
    List<PulseNode> nodes() {
        List<PulseNode> all = new ArrayList<>(List.of(node));
        all.addAll(workers);
        return all;
    }

    String url(String path) {
        return "http://127.0.0.1:" + node.port() + path;
    }

    /**
     * One connection kept open for the benchmark's own queries: a new connection per poll costs a
     * backend start.
     */
    private Handle handle;

    /** Runs one of the owning features' read queries on the benchmark's connection. */
    synchronized <T> T query(Function<Handle, T> read) {
        return read.apply(handle());
    }

    /** The benchmark's own connection, opened once. */
    private synchronized Handle handle() {
        if (handle == null) {
            handle = jdbi.open();
        }
        return handle;
    }

    /**
     * The largest resident set size of this process so far (VmHWM), in MiB, or -1 where /proc is
     * missing.
     */
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

    /** Its key and agent: the database is left as the bench found it (but for the tasks it ran). */
    private void removeWhatTheBenchAdded() {
        try (setup) {
            new ApiKeyStore(setup.jdbi(), new SecureRandom()).delete(keyName);
            if (limitedAgent != null) {
                new AgentStore(setup.jdbi(), JsonMapper.create()).delete(limitedAgent);
            }
            if (keyedAgent) {
                new AgentStore(setup.jdbi(), JsonMapper.create()).delete(KeySpread.KEYED_AGENT);
            }
        }
    }

    @Override
    public void close() throws IOException {
        synchronized (this) {
            if (handle != null) {
                handle.close();
            }
        }
        workers.forEach(PulseNode::close);
        node.close();
        removeWhatTheBenchAdded();
        if (embedded != null) {
            embedded.close();
        }
        try (var files = Files.walk(tempDir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
