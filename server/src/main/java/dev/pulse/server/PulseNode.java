package dev.pulse.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.ExecutorFactory;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.executors.http.PolicyEnforcement;
import dev.pulse.executors.local.JavaAgents;
import dev.pulse.workers.agents.AgentCatalog;
import dev.pulse.workers.agents.AgentStore;
import dev.pulse.workers.agents.NodeExecutors;
import dev.pulse.workers.agents.SharedAgents;
import dev.pulse.server.api.ApiServer;
import dev.pulse.server.api.JsonResponses;
import dev.pulse.server.api.agents.AgentRoutes;
import dev.pulse.server.api.callbacks.DeliveryRoutes;
import dev.pulse.server.api.docs.ApiDocsRoutes;
import dev.pulse.server.api.health.HealthRoutes;
import dev.pulse.workers.schedules.ScheduleParser;
import dev.pulse.server.api.schedules.ScheduleRoutes;
import dev.pulse.server.api.tasks.ReportRoutes;
import dev.pulse.server.api.tasks.TaskBatchRoutes;
import dev.pulse.server.api.tasks.TaskRequestParser;
import dev.pulse.server.api.tasks.TaskRoutes;
import dev.pulse.workers.callbacks.CallbackDeliveries;
import dev.pulse.workers.config.ConfigException;
import dev.pulse.server.config.PulseConfig;
import dev.pulse.server.config.Role;
import dev.pulse.server.dashboard.Dashboard;
import dev.pulse.workers.tasks.ThroughputRollup;
import dev.pulse.server.db.EmbeddedDatabase;
import dev.pulse.server.keys.ApiKeyAuth;
import dev.pulse.workers.keys.ApiKeyStore;
import dev.pulse.server.keys.RateLimits;
import dev.pulse.workers.keys.Scope;
import dev.pulse.server.metrics.MetricsRoutes;
import dev.pulse.server.metrics.NodeMetrics;
import dev.pulse.workers.schedules.ScheduleFiles;
import dev.pulse.workers.callbacks.CallbackDispatcher;
import dev.pulse.workers.callbacks.CallbackOutbox;
import dev.pulse.workers.callbacks.LocalDeliveries;
import dev.pulse.workers.callbacks.WebhookSecret;
import dev.pulse.workers.callbacks.WebhookSigner;
import dev.pulse.workers.db.Database;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.json.JsonMapper;
import dev.pulse.workers.metrics.QueueMetrics;
import dev.pulse.workers.queue.AgentReports;
import dev.pulse.workers.queue.BatchCompleter;
import dev.pulse.workers.queue.Heartbeat;
import dev.pulse.workers.queue.Rescuer;
import dev.pulse.workers.queue.RunningAttempts;
import dev.pulse.workers.queue.TaskClaimer;
import dev.pulse.workers.queue.TaskCompleter;
import dev.pulse.workers.queue.TaskRunner;
import dev.pulse.workers.queue.Worker;
import dev.pulse.workers.schedules.CronTicker;
import dev.pulse.workers.schedules.ScheduleFirer;
import dev.pulse.workers.schedules.ScheduleStore;
import dev.pulse.workers.settings.SettingsStore;
import dev.pulse.workers.tasks.Retention;
import dev.pulse.workers.tasks.TaskIds;
import dev.pulse.workers.tasks.TaskJson;
import dev.pulse.workers.tasks.TaskStore;
import dev.pulse.workers.timing.Backoff;
import dev.pulse.workers.timing.DatabaseWakeUps;
import dev.pulse.workers.timing.WakeUp;
import io.javalin.config.RoutesConfig;
import java.net.URI;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;
import okhttp3.OkHttpClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running Pulse process: database, API, worker and callback dispatcher, wired together and
 * closed in reverse order of starting.
 */
public final class PulseNode implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PulseNode.class);
    static final String WEBHOOK_SECRET_SETTING = "webhook_secret";
    static final String ADMIN_KEY_FILE = "generated-admin-key";
    static final String WEBHOOK_SECRET_FILE = "generated-webhook-secret";

    private final Deque<AutoCloseable> started = new ArrayDeque<>();
    private volatile ApiServer api;
    private NodeMetrics nodeMetrics;

    private final Clock clock;
    private final Consumer<RoutesConfig> httpHooks;

    private PulseNode(Clock clock, Consumer<RoutesConfig> httpHooks) {
        this.clock = clock;
        this.httpHooks = httpHooks;
    }

    /** Starts every part of a node; if one part fails, the parts already started are closed again. */
    public static PulseNode start(PulseConfig config, Clock clock, Function<String, String> environment) {
        return start(config, clock, environment, routes -> { });
    }

    /**
     * As {@link #start(PulseConfig, Clock, Function)}, with extra handlers on the HTTP server
     * ({@code httpHooks}, registered after the node's routes): tests check every response there.
     */
    public static PulseNode start(PulseConfig config, Clock clock, Function<String, String> environment,
                                  Consumer<RoutesConfig> httpHooks) {
        PulseNode node = new PulseNode(clock, httpHooks);
        try {
            node.startParts(config, environment);
            return node;
        } catch (RuntimeException e) {
            node.close();
            throw e;
        }
    }

    private void startParts(PulseConfig config, Function<String, String> environment) {
        ObjectMapper json = JsonMapper.create();
        SecureRandom random = new SecureRandom();
        String nodeId = NodeIds.forThisProcess(random);

        NodeMetrics nodeMetrics = started(new NodeMetrics());
        this.nodeMetrics = nodeMetrics;
        QueueMetrics metrics = new QueueMetrics(nodeMetrics.registry());
        DatabaseUrl databaseUrl = databaseUrl(config);
        Database database = started(Database.connect(databaseUrl, config.databasePoolSize(), nodeMetrics.registry()));
        int migrations = database.migrate();
        log.info("database ready ({} migration(s) applied)", migrations);

        JavaAgents javaAgents = JavaAgents.discover(config.pluginsDir());
        OkHttpClient http = PolicyEnforcement.apply(new OkHttpClient(), config.egress());
        AgentReports reports = started(new AgentReports(database.jdbi(), () -> reportBaseUrl(config), Duration.ofMillis(250)));
        ExecutorFactory executors = started(new NodeExecutors(javaAgents, http, json, environment, reports)).factory();
        AgentStore agentStore = new AgentStore(database.jdbi(), json);
        log.info("agent files in {}: {}", config.agentsDir(), AgentCatalog.apply(config.agentsDir(), javaAgents, executors, agentStore));
        SharedAgents sharedAgents = started(new SharedAgents(agentStore, javaAgents, executors, clock));
        sharedAgents.start(Duration.ofSeconds(2));
        AgentRegistry agents = sharedAgents.registry();

        WebhookSigner signer = new WebhookSigner(webhookSecret(config, database, random));
        WakeUp workerWakeUp = new WakeUp();
        // Tasks queued here wake this node's worker at once and, through a debounced NOTIFY, every
        // other node's (PULSE_WAKEUPS=notify); polling stays the backstop either way.
        WakeUp queuedWakeUp = workerWakeUp;
        if (config.notifyWakeUps()) {
            DatabaseWakeUps wakeUps = started(new DatabaseWakeUps(databaseUrl, database.jdbi(), workerWakeUp,
                    Duration.ofMillis(10)));
            if (config.runs(Role.WORKER)) {
                wakeUps.start();
            }
            queuedWakeUp = new WakeUp(() -> {
                workerWakeUp.signal();
                wakeUps.queued();
            });
        }
        WakeUp dispatcherWakeUp = new WakeUp();
        TaskIds ids = new TaskIds(clock, random);
        TaskJson taskJson = new TaskJson(json);
        // A worker's dispatcher takes the callbacks its own completer writes straight from memory.
        LocalDeliveries localDeliveries = config.runs(Role.WORKER)
                ? LocalDeliveries.forDispatcher(config.callbackConcurrency(), config.callbackTimeout(), clock)
                : LocalDeliveries.none();
        CallbackOutbox outbox = new CallbackOutbox(json, taskJson, ids::next, dispatcherWakeUp, localDeliveries);
        TaskStore tasks = new TaskStore(database.jdbi(), json, ids, outbox, metrics);
        TaskCompleter completer = new TaskCompleter(database.jdbi(), json, outbox, random);
        CallbackDeliveries deliveries = new CallbackDeliveries(database.jdbi(), dispatcherWakeUp);
        nodeMetrics.watchQueue(database.jdbi(), clock);
        started(new ThroughputRollup(database.jdbi(), nodeMetrics.registry(), nodeId, Duration.ofSeconds(5))).start();

        RunningAttempts running = new RunningAttempts();
        List<String> roles = config.roles().stream().map(Role::wire).toList();
        started(new Heartbeat(database.jdbi(), new Heartbeat.Node(nodeId, NodeIds.host(), ProcessHandle.current().pid(),
                roles), running, config.leaseDuration())).start();
        if (config.runs(Role.WORKER)) {
            startWorker(config, database, json, random, http, signer, outbox, localDeliveries, completer, dispatcherWakeUp, workerWakeUp,
                    running, agents, executors, metrics, nodeId);
        }

        ScheduleStore schedules = new ScheduleStore(database.jdbi(), json, ids::next);
        ScheduleFirer firer = new ScheduleFirer(database.jdbi(), schedules, tasks, agents, queuedWakeUp);
        ScheduleParser scheduleParser = new ScheduleParser(json, agents, config.egress());
        Runnable schedulesChanged = () -> { };
        if (config.runs(Role.SCHEDULER)) {
            applyScheduleFiles(config, scheduleParser, schedules);
            CronTicker ticker = started(new CronTicker(nodeId, schedules, firer, Duration.ofSeconds(2)));
            ticker.start();
            schedulesChanged = ticker::changed;
        }

        ApiKeyStore keys = new ApiKeyStore(database.jdbi(), random);
        JsonResponses responses = new JsonResponses(json);
        List<Consumer<RoutesConfig>> routes = new ArrayList<>(List.of(
                new HealthRoutes(database, responses)::register,
                new MetricsRoutes(nodeMetrics.registry())::register));
        if (config.runs(Role.API)) {
            TaskRequestParser taskParser = new TaskRequestParser(json, agents, config.egress());
            routes.add(new TaskRoutes(tasks, taskParser, taskJson, responses, queuedWakeUp)::register);
            routes.add(new TaskBatchRoutes(tasks, taskParser, responses, queuedWakeUp)::register);
            routes.add(new DeliveryRoutes(deliveries, tasks, responses)::register);
            routes.add(new ReportRoutes(tasks, completer, taskJson, responses)::register);
            routes.add(new ScheduleRoutes(schedules, firer, scheduleParser, taskJson, responses, clock, schedulesChanged)::register);
            routes.add(new AgentRoutes(sharedAgents, agentStore, executors, responses)::register);
            routes.add(new ApiDocsRoutes(json)::register);
            routes.add(new Dashboard(new Dashboard.Parts(database.jdbi(), json, keys, tasks, deliveries,
                    schedules, firer, schedulesChanged, agents, executors, nodeMetrics.registry(), queuedWakeUp::signal,
                    config.leaseDuration(), clock, random))::register);
        }
        routes.add(httpHooks);
        bootstrapAdminKey(config, keys);
        api = started(new ApiServer(config.httpHost(), config.httpPort(), responses, new ApiKeyAuth(keys, new RateLimits(config.rateLimit()))::check, routes)
                .start());
        log.info("Pulse node {} ({}) listening on http://{}:{} with {} agent(s): {}", nodeId, String.join(", ", roles),
                config.httpHost(), api.port(), agents.all().size(), agents.all().stream().map(AgentDefinition::name).toList());
    }

    /** The worker role: the claim loop, the rescuer, and the callback dispatcher. */
    private void startWorker(PulseConfig config, Database database, ObjectMapper json, SecureRandom random,
                             OkHttpClient http, WebhookSigner signer, CallbackOutbox outbox,
                             LocalDeliveries localDeliveries, TaskCompleter completer,
                             WakeUp dispatcherWakeUp,
                             WakeUp workerWakeUp, RunningAttempts running, AgentRegistry agents,
                             ExecutorFactory executors, QueueMetrics metrics, String nodeId) {
        started(new CallbackDispatcher(database.jdbi(), http, signer,
                new Backoff(Duration.ofSeconds(2), Duration.ofMinutes(30), random), clock, dispatcherWakeUp,
                new CallbackDispatcher.Settings(config.callbackConcurrency(), config.callbackMaxAttempts(),
                        config.workerPollInterval(), config.callbackTimeout(), config.callbackPerDestination()),
                localDeliveries, metrics))
                .start();
        started(new Rescuer(database.jdbi(), json, outbox, clock, config.leaseDuration())).start();
        if (!config.retention().isZero()) {
            started(new Retention(database.jdbi(), config.retention(), Duration.ofMinutes(1))).start();
        }
        BatchCompleter completions = new BatchCompleter(completer, BatchCompleter.Settings.DEFAULT, workerWakeUp::signal);
        started(new Worker(
                new TaskClaimer(database.jdbi(), json, nodeId, config.leaseDuration(), agents::limits),
                new TaskRunner(agents, executors, completer, completions, metrics), completions, running, workerWakeUp,
                new Worker.Settings(config.workerConcurrency(), config.workerPollInterval(), config.shutdownGrace())))
                .start();
    }

    /**
     * Where asynchronous agents report results: the configured public URL, else this node's own
     * API when it serves one (fine on one machine), else nowhere (a worker-only node must be told).
     */
    private Optional<URI> reportBaseUrl(PulseConfig config) {
        if (config.publicUrl() != null) {
            return Optional.of(config.publicUrl());
        }
        ApiServer server = api;
        if (server == null || !config.runs(Role.API)) {
            return Optional.empty();
        }
        String host = config.httpHost().equals("0.0.0.0") || config.httpHost().equals("::") ? "127.0.0.1" : config.httpHost();
        return Optional.of(URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + server.port()));
    }

    private DatabaseUrl databaseUrl(PulseConfig config) {
        if (!config.usesEmbeddedDatabase()) {
            return DatabaseUrl.parse(config.databaseUrl());
        }
        log.info("no database URL configured: starting the embedded PostgreSQL in {}", config.dataDir().toAbsolutePath().normalize());
        EmbeddedDatabase embedded = started(EmbeddedDatabase.start(config.dataDir()));
        return embedded.url();
    }

    /**
     * Makes sure someone can use a new installation: the configured admin key is stored (hashed);
     * with none configured and no key at all, one is generated and written to the data directory.
     */
    private static void bootstrapAdminKey(PulseConfig config, ApiKeyStore keys) {
        if (config.adminKey() != null) {
            keys.ensure("admin-from-config", config.adminKey(), java.util.EnumSet.of(Scope.ADMIN));
        } else if (keys.count() == 0) {
            String key = keys.create("admin", java.util.EnumSet.of(Scope.ADMIN));
            new GeneratedSecrets(config.dataDir()).reveal(ADMIN_KEY_FILE, key, "an admin API key",
                    "create another with: pulse keys create --name admin --scopes admin");
        }
    }

    private static void applyScheduleFiles(PulseConfig config, ScheduleParser parser, ScheduleStore schedules) {
        if (!java.nio.file.Files.exists(config.schedulesDir())) {
            return;
        }
        ScheduleFiles.Loaded loaded = new ScheduleFiles(parser).load(config.schedulesDir());
        if (!loaded.problems().isEmpty()) {
            throw new ConfigException(loaded.problems());
        }
        var counts = ScheduleFiles.apply(loaded.schedules(), schedules);
        log.info("schedule files in {}: {}", config.schedulesDir(), counts);
    }

    private static WebhookSecret webhookSecret(PulseConfig config, Database database, SecureRandom random) {
        if (config.webhookSecret() != null) {
            return WebhookSecret.parse(config.webhookSecret());
        }
        SettingsStore.Value stored = new SettingsStore(database.jdbi())
                .getOrCreate(WEBHOOK_SECRET_SETTING, () -> WebhookSecret.generate(random).reveal());
        if (stored.created()) {
            new GeneratedSecrets(config.dataDir()).reveal(WEBHOOK_SECRET_FILE, stored.value(),
                    "the webhook signing secret callback receivers verify signatures with",
                    "set PULSE_WEBHOOK_SECRET to a secret of your own (whsec_<base64>) and restart");
        }
        return WebhookSecret.parse(stored.value());
    }

    private <T extends AutoCloseable> T started(T part) {
        started.push(part);
        return part;
    }

    public int port() {
        return api.port();
    }

    /** This node's meters (what {@code /metrics} shows), e.g. for a benchmark to follow progress without counting rows. */
    public io.micrometer.core.instrument.MeterRegistry meters() {
        return nodeMetrics.registry();
    }

    /** The HTTP server, for tests that inspect its routes. */
    public ApiServer api() {
        return api;
    }

    @Override
    public void close() {
        while (!started.isEmpty()) {
            AutoCloseable part = started.pop();
            try {
                part.close();
            } catch (Exception e) {
                log.warn("error while stopping {}", part.getClass().getSimpleName(), e);
            } 
        }
    }
}
