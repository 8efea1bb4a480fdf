package dev.pulse.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.ExecutorFactory;
import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.executors.http.PolicyEnforcement;
import dev.pulse.executors.local.JavaAgents;
import dev.pulse.server.config.DatabaseTopology;
import dev.pulse.server.config.PulseConfig;
import dev.pulse.server.config.Role;
import dev.pulse.server.db.EmbeddedDatabase;
import dev.pulse.server.metrics.NodeMetrics;
import dev.pulse.server.tracing.Telemetry;
import dev.pulse.workers.agents.AgentCatalog;
import dev.pulse.workers.agents.AgentStore;
import dev.pulse.workers.agents.NodeExecutors;
import dev.pulse.workers.agents.SharedAgents;
import dev.pulse.workers.callbacks.CallbackDeliveries;
import dev.pulse.workers.callbacks.CallbackOutbox;
import dev.pulse.workers.callbacks.LocalDeliveries;
import dev.pulse.workers.callbacks.WebhookSecret;
import dev.pulse.workers.callbacks.WebhookSigner;
import dev.pulse.workers.db.ConnectionSettings;
import dev.pulse.workers.db.Database;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.flow.WaitingReasons;
import dev.pulse.workers.json.JsonMapper;
import dev.pulse.workers.maintenance.Duties;
import dev.pulse.workers.metrics.QueueMetrics;
import dev.pulse.workers.nodes.RemoteWorkers;
import dev.pulse.workers.queue.AgentReports;
import dev.pulse.workers.queue.Heartbeat;
import dev.pulse.workers.queue.RemoteWork;
import dev.pulse.workers.queue.RunningAttempts;
import dev.pulse.workers.queue.TaskCompleter;
import dev.pulse.workers.schedules.ScheduleFirer;
import dev.pulse.workers.schedules.ScheduleStore;
import dev.pulse.workers.settings.SettingsStore;
import dev.pulse.workers.tasks.TaskIds;
import dev.pulse.workers.tasks.TaskJson;
import dev.pulse.workers.tasks.TaskStore;
import dev.pulse.workers.tasks.ThroughputRollup;
import dev.pulse.workers.timing.Broadcast;
import dev.pulse.workers.timing.DatabaseWakeUps;
import dev.pulse.workers.timing.DueWakeUps;
import dev.pulse.workers.timing.WakeUp;
import dev.pulse.workers.tracing.TaskTracing;
import java.net.URI;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;
import okhttp3.OkHttpClient;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every node has whatever its roles: the database, JSON, metrics, the agents, the stores, the
 * wake-ups, and the duties every node runs (agent sync, async reports, the throughput rollup, the
 * heartbeat). The roles ({@link ApiRole}, {@link WorkerRole}, {@link SchedulerRole}) are built on
 * it; everything it starts is closed through {@link #parts}, which also reports the duties to
 * {@code /metrics}.
 */
final class NodeCore {

    private static final Logger log = LoggerFactory.getLogger(NodeCore.class);
    static final String WEBHOOK_SECRET_SETTING = "webhook_secret";
    static final String WEBHOOK_SECRET_FILE = "generated-webhook-secret";

    final PulseConfig config;
    final Clock clock;
    final Duties parts;
    final NodeMetrics nodeMetrics;
    final ObjectMapper json = JsonMapper.create();
    final SecureRandom random = new SecureRandom();
    final String nodeId = NodeIds.forThisProcess(random);
    final QueueMetrics metrics;
    final DatabaseUrl databaseUrl;
    final ConnectionSettings connections;
    final Database database;

    /**
     * Where lists, dashboard figures and metrics are read: the replica's pool when {@code
     * database.replica_url} is set, else the primary's. Never for a claim, a write, or a read that
     * must see a write just made (a task just created).
     */
    final Jdbi reads;

    final OkHttpClient http;
    final ExecutorFactory executors;
    final AgentStore agentStore;
    final SharedAgents sharedAgents;
    final AgentRegistry agents;
    final WebhookSigner signer;

    /** The spans of tasks' lives, exported over OTLP when an endpoint is configured. */
    final TaskTracing tracing;

    /** Wakes this node's worker: a task was queued here, or (through LISTEN) on another node. */
    final WakeUp workerWakeUp = new WakeUp();

    /**
     * Signalled when tasks are queued on this node: wakes its worker and, through NOTIFY, every
     * other node's.
     */
    final WakeUp queuedWakeUp;

    /** Wakes the queue's waiters when a delayed task queued here becomes due. */
    final DueWakeUps dueWakeUps;

    /**
     * Wakes the long polls of remote workers' claims on this node: every signal that wakes the
     * worker does.
     */
    final Broadcast arrivals = new Broadcast();

    final WakeUp dispatcherWakeUp = new WakeUp();
    final TaskJson taskJson;
    final LocalDeliveries localDeliveries;
    final CallbackOutbox outbox;
    final TaskStore tasks;
    final WaitingReasons waiting;
    final TaskCompleter completer;
    final CallbackDeliveries deliveries;
    final ScheduleStore schedules;
    final ScheduleFirer firer;
    final RemoteWork remoteWork;
    final RemoteWorkers remoteWorkers;
    final RunningAttempts running = new RunningAttempts();
    final List<String> roles;

    /**
     * Connects (and migrates) the database and starts the duties every node runs.
     *
     * @param reportBaseUrl where asynchronous agents report (known once the HTTP server listens)
     */
    NodeCore(
            PulseConfig config,
            Clock clock,
            Function<String, String> environment,
            NodeMetrics nodeMetrics,
            Duties parts,
            Supplier<Optional<URI>> reportBaseUrl) {
        this.config = config;
        this.clock = clock;
        this.parts = parts;
        this.nodeMetrics = nodeMetrics;
        this.metrics = new QueueMetrics(nodeMetrics.registry());
        // Added first, so closed last: the spans of everything stopping are still exported.
        this.tracing = parts.add(Telemetry.start(config.tracing(), nodeId, clock)).tracing();
        this.databaseUrl = databaseUrl();
        DatabaseTopology topology = config.databaseTopology();
        this.connections =
                new ConnectionSettings(
                        applicationName(nodeId),
                        topology.socketTimeout(),
                        topology.transactionPooling());
        this.database =
                parts.add(
                        Database.connect(
                                new Database.Pool(
                                        "pulse",
                                        databaseUrl,
                                        config.databasePoolSize(),
                                        connections,
                                        directUrl(),
                                        false),
                                nodeMetrics.registry()));
        log.info("database ready ({} migration(s) applied)", database.migrate());
        this.reads = replicaReads(topology);

        JavaAgents javaAgents = JavaAgents.discover(config.pluginsDir());
        this.http = PolicyEnforcement.apply(new OkHttpClient(), config.egress());
        AgentReports reports =
                parts.start(
                        new AgentReports(database.jdbi(), reportBaseUrl, Duration.ofMillis(250)));
        this.executors =
                parts.add(new NodeExecutors(javaAgents, http, json, environment, reports))
                        .factory();
        this.agentStore = new AgentStore(database.jdbi(), json);
        log.info(
                "agent files in {}: {}",
                config.agentsDir(),
                AgentCatalog.apply(config.agentsDir(), javaAgents, executors, agentStore));
        this.sharedAgents =
                parts.start(
                        new SharedAgents(
                                agentStore, javaAgents, executors, clock, Duration.ofSeconds(2)));
        this.agents = sharedAgents.registry();

        this.signer = new WebhookSigner(webhookSecret());
        this.queuedWakeUp = wakeUps(topology);
        this.dueWakeUps = parts.add(new DueWakeUps(queuedWakeUp, clock));
        TaskIds ids = new TaskIds(clock, random);
        this.taskJson = new TaskJson(json);
        // A worker's dispatcher takes the callbacks its own completer writes straight from memory.
        this.localDeliveries =
                config.runs(Role.WORKER)
                        ? LocalDeliveries.forDispatcher(
                                config.callbackConcurrency(), config.callbackTimeout(), clock)
                        : LocalDeliveries.none();
        this.outbox =
                new CallbackOutbox(json, taskJson, ids::next, dispatcherWakeUp, localDeliveries);
        this.tasks =
                new TaskStore(database.jdbi(), json, ids, outbox, metrics, tracing)
                        .listingFrom(reads);
        this.completer = new TaskCompleter(database.jdbi(), json, outbox, random);
        this.deliveries = new CallbackDeliveries(database.jdbi(), dispatcherWakeUp);
        this.schedules = new ScheduleStore(database.jdbi(), json, ids::next);
        this.firer = new ScheduleFirer(database.jdbi(), schedules, tasks, agents, queuedWakeUp);
        this.waiting = new WaitingReasons(database.jdbi(), agents::limits, clock);
        this.remoteWork =
                new RemoteWork(
                        database.jdbi(),
                        json,
                        completer,
                        agents::limits,
                        agents::remoteLeases,
                        arrivals,
                        config.workerPollInterval());
        this.remoteWorkers = new RemoteWorkers(database.jdbi());
        nodeMetrics.watchQueue(reads, clock);
        nodeMetrics.watchWaiting(waiting, clock);
        parts.start(
                new ThroughputRollup(
                        database.jdbi(), nodeMetrics.registry(), nodeId, Duration.ofSeconds(5)));

        this.roles = config.roles().stream().map(Role::wire).toList();
        parts.start(
                new Heartbeat(
                        database.jdbi(),
                        new Heartbeat.Node(
                                nodeId, NodeIds.host(), ProcessHandle.current().pid(), roles),
                        running,
                        config.leaseDuration()));
    }

    /**
     * Tasks queued here wake this node's worker at once and, through a debounced NOTIFY, every
     * other node's (PULSE_WAKEUPS=notify); polling stays the backstop either way. A worker listens,
     * and so does an API node: remote workers' claims wait there.
     */
    private WakeUp wakeUps(DatabaseTopology topology) {
        if (!config.notifyWakeUps()) {
            return localWakeUp();
        }
        if (!topology.canListen()) {
            log.info(
                    "database.pooler=transaction without database.listen_url: no LISTEN through the"
                            + " pooler, so other nodes' tasks are found by polling every {}",
                    config.workerPollInterval());
            return localWakeUp();
        }
        DatabaseUrl listenUrl = listenUrl();
        DatabaseWakeUps wakeUps =
                new DatabaseWakeUps(
                        listenUrl,
                        connections,
                        database.jdbi(),
                        localWakeUp(),
                        Duration.ofMillis(10));
        if (config.runs(Role.WORKER) || config.runs(Role.API)) {
            parts.start(wakeUps);
        } else {
            parts.add(wakeUps);
        }
        return new WakeUp(
                () -> {
                    workerWakeUp.signal();
                    arrivals.signal();
                    wakeUps.queued();
                });
    }

    /** This node's own waiters: its workers and the remote workers' claims waiting here. */
    private WakeUp localWakeUp() {
        return new WakeUp(
                () -> {
                    workerWakeUp.signal();
                    arrivals.signal();
                });
    }

    /** What every connection of this node shows in {@code pg_stat_activity} (63 bytes at most). */
    static String applicationName(String nodeId) {
        String name = "pulse-" + nodeId;
        return name.length() > 63 ? name.substring(0, 63) : name;
    }

    /**
     * Where a connection of its own can LISTEN (past the pooler if there is one), or null when
     * nothing can (a transaction pooler without {@code database.listen_url}).
     */
    DatabaseUrl listenUrl() {
        if (!config.databaseTopology().canListen()) {
            return null;
        }
        return directUrl() != null ? directUrl() : databaseUrl;
    }

    /** A direct connection to the primary past the pooler, for LISTEN and migrations, or null. */
    private DatabaseUrl directUrl() {
        String listen = config.databaseTopology().listenUrl();
        return listen == null ? null : DatabaseUrl.parse(listen);
    }

    private Jdbi replicaReads(DatabaseTopology topology) {
        if (topology.replicaUrl() == null) {
            return database.reads();
        }
        DatabaseUrl replica = DatabaseUrl.parse(topology.replicaUrl());
        log.info("lists, dashboard figures and metrics are read from the replica {}", replica);
        return parts.add(
                        Database.connect(
                                Database.Pool.replica(
                                        "pulse-replica",
                                        replica,
                                        config.databasePoolSize(),
                                        connections),
                                nodeMetrics.registry()))
                .reads();
    }

    private DatabaseUrl databaseUrl() {
        if (!config.usesEmbeddedDatabase()) {
            return DatabaseUrl.parse(config.databaseUrl());
        }
        log.info(
                "no database URL configured: starting the embedded PostgreSQL in {}",
                config.dataDir().toAbsolutePath().normalize());
        return parts.add(EmbeddedDatabase.start(config.dataDir())).url();
    }

    private WebhookSecret webhookSecret() {
        if (config.webhookSecret() != null) {
            return WebhookSecret.parse(config.webhookSecret());
        }
        SettingsStore.Value stored =
                new SettingsStore(database.jdbi())
                        .getOrCreate(
                                WEBHOOK_SECRET_SETTING,
                                () -> WebhookSecret.generate(random).reveal());
        if (stored.created()) {
            new GeneratedSecrets(config.dataDir())
                    .reveal(
                            WEBHOOK_SECRET_FILE,
                            stored.value(),
                            "the webhook signing secret callback receivers verify signatures with",
                            "set PULSE_WEBHOOK_SECRET to a secret of your own (whsec_<base64>) and restart");
        }
        return WebhookSecret.parse(stored.value());
    }
}
