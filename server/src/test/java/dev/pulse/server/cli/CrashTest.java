package dev.pulse.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.standardwebhooks.Webhook;
import dev.pulse.server.TestNode;
import dev.pulse.workers.db.Database;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.testing.CallbackReceiver;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three real {@code pulse serve} processes share 3,000 tasks while the test {@code kill -9}s four
 * of them (starting a new one in each one's place) and restarts PostgreSQL once midway. Every fault
 * is injected on an event, never on a clock: the tasks are queued in waves, and each fault waits
 * until enough of its wave's tasks have started and the victim holds running attempts, and the next
 * wave is queued only after it (and once the replacement node is ready). So the faults happen, all
 * of them, however fast or slow the machine is. In the end every task succeeded with its result
 * written once, nothing is left running, every task's callback arrived (retries under one {@code
 * webhook-id}), and each attempt lost to a crash was rescued within a bound set by the lease.
 */
class CrashTest {

    private static final int TASKS = 3_000;
    private static final int NODES = 3;

    /** Tasks queued per wave; a wave is released only once the previous wave's fault happened. */
    private static final int WAVE = 300;

    private enum Fault {
        KILL,
        RESTART_DATABASE
    }

    /** In order, each during its own wave; the waves left over (at least five) run undisturbed. */
    private static final List<Fault> FAULTS =
            List.of(Fault.KILL, Fault.KILL, Fault.RESTART_DATABASE, Fault.KILL, Fault.KILL);

    /** A fault waits until this many attempts started since its wave was released... */
    private static final int STARTED_BEFORE_FAULT = 60;

    /**
     * ...and its victim (the node, or for a database restart all nodes) holds this many running
     * attempts.
     */
    private static final int RUNNING_AT_FAULT = 3;

    /**
     * Short, so rescues come quickly; not so short that a live node starved of CPU for a moment
     * (three JVMs, PostgreSQL and the load generator on a busy two-core machine) misses every
     * renewal of a lease and has its attempts rescued while it is alive.
     */
    private static final Duration LEASE = Duration.ofSeconds(4);

    /**
     * Kill to rescue: the lease runs out (at most one lease after the last renewal), then a rescuer
     * pass (every lease/2); the rest is room for a machine so busy that a pass runs late. The bound
     * still tells a lease-driven rescue from none (the task would wait forever).
     */
    private static final Duration RESCUE_BOUND = LEASE.multipliedBy(3).plusSeconds(30);

    /**
     * How long any one awaited condition (a node ready, a fault's event, all tasks done) may take.
     */
    private static final Duration PATIENCE = Duration.ofMinutes(3);

    private final ObjectMapper json = new ObjectMapper();
    private final HttpClient http =
            HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(10))
                    .build();

    @TempDir Path work;

    /** One life of a node: a process between its start and its death. */
    private static final class Incarnation {
        final String name;
        final PulseProcess process;
        volatile boolean up;
        volatile Instant killedAt;

        Incarnation(String name, PulseProcess process) {
            this.name = name;
            this.process = process;
        }
    }

    private final List<Incarnation> incarnations = Collections.synchronizedList(new ArrayList<>());
    private final AtomicReferenceArray<Incarnation> slots = new AtomicReferenceArray<>(NODES);
    private final List<Long> startupMillis = Collections.synchronizedList(new ArrayList<>());

    /** Permits to queue one task each; the test hands them out a wave at a time. */
    private final Semaphore queueable = new Semaphore(0);

    private int released;

    @Test
    @Timeout(value = 20, unit = TimeUnit.MINUTES)
    void killedNodesAndARestartedDatabaseLoseNoTaskAndWriteEveryResultOnce() throws Exception {
        long testStart = System.nanoTime();
        // Kept after the run (CI can archive them): one log per process life.
        Path logs = Path.of("target", "crash-test-logs", Long.toString(System.currentTimeMillis()));
        Files.createDirectories(logs);
        System.out.println("crash test: process logs in " + logs.toAbsolutePath());

        ExecutorService enqueuers = Executors.newFixedThreadPool(16);
        try (RestartablePostgres pg = RestartablePostgres.start(work.resolve("pg"));
                CallbackReceiver receiver = new CallbackReceiver()) {
            DatabaseUrl url = new DatabaseUrl(pg.jdbcUrl(), null, null);
            try (Database db = Database.connect(url, 2)) {
                db.migrate(); // once up front, so the nodes don't race to create the schema
            }
            Jdbi jdbi = Jdbi.create(pg.jdbcUrl());

            Map<String, String> env = new HashMap<>(TestNode.baseEnvironment(url));
            env.put("PULSE_WORKER_CONCURRENCY", "8");
            env.put("PULSE_LEASE_SECONDS", Long.toString(LEASE.toSeconds()));
            env.put("PULSE_SHUTDOWN_GRACE", "5s");
            env.put("PULSE_CALLBACK_MAX_ATTEMPTS", "50");
            env.put("PULSE_DATABASE_POOL_SIZE", "12");

            for (int i = 0; i < NODES; i++) {
                slots.set(
                        i,
                        new Incarnation(
                                "node-" + i + "-0",
                                PulseProcess.start("node-" + i + "-0", env, logs)));
                incarnations.add(slots.get(i));
            }
            for (int i = 0; i < NODES; i++) {
                slots.get(i).process.awaitReady(PATIENCE);
                slots.get(i).up = true;
            }
            long startedMs = millisSince(testStart);

            // The enqueuers queue whatever the test has released; a POST a dying node drops is
            // retried on
            // another node under the same Idempotency-Key, so a request that did land is not queued
            // twice.
            AtomicInteger next = new AtomicInteger();
            AtomicInteger created = new AtomicInteger();
            AtomicInteger retried = new AtomicInteger();
            AtomicInteger serverErrors = new AtomicInteger();
            String callbackUrl = receiver.url("/crash");
            List<Future<?>> enqueueing = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                enqueueing.add(
                        enqueuers.submit(
                                () -> {
                                    while (true) {
                                        queueable.acquire();
                                        int i = next.getAndIncrement();
                                        if (i >= TASKS) {
                                            return null;
                                        }
                                        enqueue(i, callbackUrl, created, retried, serverErrors);
                                    }
                                }));
            }

            // The faults, each on its event during its own wave.
            int kills = 0;
            Duration pgOutage = null;
            List<String> faultLog = new ArrayList<>();
            for (Fault fault : FAULTS) {
                assertAllNodesUp();
                if (fault == Fault.RESTART_DATABASE) {
                    // No rescue may overlap the outage: the measured rescue latencies are the
                    // nodes', not the outage's.
                    awaitKilledNodesRescued(jdbi);
                }
                Map<Integer, Long> runningByNode =
                        awaitFaultEvent(jdbi, fault, created, enqueueing);
                if (fault == Fault.KILL) {
                    int slot = busiestNode(runningByNode);
                    faultLog.add(
                            "kill "
                                    + slots.get(slot).name
                                    + " holding "
                                    + runningByNode.get(slot)
                                    + " running at "
                                    + runningByNode);
                    killAndReplace(slot, ++kills, env, logs);
                } else {
                    faultLog.add("PostgreSQL restart with " + runningByNode + " running");
                    pgOutage = pg.restart(Duration.ofSeconds(1));
                    for (int i = 0; i < NODES; i++) {
                        Incarnation node = slots.get(i);
                        // They must come back by themselves: no restart of theirs here, only a
                        // wait.
                        node.process.awaitReady(PATIENCE);
                        assertThat(node.process.isAlive())
                                .as(node.name + " survived the database restart")
                                .isTrue();
                    }
                    System.out.printf(
                            "crash test: restarted PostgreSQL (outage %d ms); all nodes ready again%n",
                            pgOutage.toMillis());
                }
            }
            assertAllNodesUp();
            release(TASKS - released);
            queueable.release(
                    enqueueing.size()); // one more permit each, to find the work done and stop
            faultLog.forEach(f -> System.out.println("crash test: " + f));

            long finished = 0;
            long finishDeadline = System.nanoTime() + PATIENCE.toNanos();
            while (true) {
                finished =
                        countOr(
                                jdbi,
                                "SELECT count(*) FROM tasks WHERE state IN ('succeeded', 'failed', 'cancelled')",
                                finished);
                if (enqueueing.stream().allMatch(Future::isDone) && finished >= TASKS) {
                    break;
                }
                rethrowEnqueueFailures(enqueueing);
                if (System.nanoTime() > finishDeadline) {
                    throw new AssertionError(
                            "tasks still unfinished after "
                                    + PATIENCE
                                    + " of waiting: "
                                    + finished
                                    + " of "
                                    + TASKS
                                    + " finished, "
                                    + created.get()
                                    + " queued\n"
                                    + tails());
                }
                Thread.sleep(100);
            }
            long allFinishedMs = millisSince(testStart);
            for (Future<?> f : enqueueing) {
                f.get(); // surfaces an enqueue failure
            }

            // Callbacks claimed by a node that was then killed wait out their delivery lease (60 s)
            // before a retry.
            long delivered = 0;
            long deliveryDeadline = System.nanoTime() + PATIENCE.toNanos();
            while (true) {
                delivered =
                        countOr(
                                jdbi,
                                "SELECT count(*) FROM callback_deliveries WHERE state = 'delivered'",
                                delivered);
                if (delivered >= TASKS) {
                    break;
                }
                if (System.nanoTime() > deliveryDeadline) {
                    throw new AssertionError(
                            "callbacks still undelivered after "
                                    + PATIENCE
                                    + " of waiting: "
                                    + delivered
                                    + " of "
                                    + TASKS
                                    + "; "
                                    + count(
                                            jdbi,
                                            "SELECT count(*) FROM callback_deliveries WHERE state = 'dead'")
                                    + " dead\n"
                                    + tails());
                }
                Thread.sleep(200);
            }
            long allDeliveredMs = millisSince(testStart);

            // The survivors stop cleanly.
            for (int i = 0; i < NODES; i++) {
                Incarnation node = slots.get(i);
                node.up = false;
                assertThat(node.process.terminate(Duration.ofSeconds(30)))
                        .as(node.name + " exit status after SIGTERM")
                        .isZero();
            }

            // --- the database's account
            assertThat(created.get()).as("tasks queued over HTTP").isEqualTo(TASKS);
            assertThat(count(jdbi, "SELECT count(*) FROM tasks"))
                    .as("tasks in the table (idempotent retries)")
                    .isEqualTo(TASKS);
            long succeeded = count(jdbi, "SELECT count(*) FROM tasks WHERE state = 'succeeded'");
            assertThat(count(jdbi, "SELECT count(*) FROM tasks WHERE state = 'running'"))
                    .as("tasks left running")
                    .isZero();
            assertThat(succeeded)
                    .as(
                            "succeeded tasks; states: %s",
                            groupCount(jdbi, "SELECT state, count(*) FROM tasks GROUP BY 1"))
                    .isEqualTo(TASKS);
            assertThat(count(jdbi, "SELECT count(*) FROM tasks WHERE result->>'slept_ms' IS NULL"))
                    .as("tasks without a result")
                    .isZero();
            long duplicated =
                    count(
                            jdbi,
                            """
                    SELECT count(*) FROM (SELECT task_id FROM ended_attempts WHERE outcome = 'succeeded'
                                           GROUP BY task_id HAVING count(*) > 1) twice
                    """);
            assertThat(duplicated).as("tasks with more than one succeeded attempt").isZero();
            assertThat(
                            count(
                                    jdbi,
                                    """
                    SELECT count(*) FROM (SELECT task_id FROM ended_attempts WHERE outcome = 'succeeded'
                                           GROUP BY task_id HAVING count(*) = 1) once
                    """))
                    .as("tasks with exactly one succeeded attempt")
                    .isEqualTo(TASKS);
            assertThat(count(jdbi, "SELECT count(*) FROM ended_attempts WHERE outcome IS NULL"))
                    .as("attempts never closed")
                    .isZero();
            assertThat(
                            count(
                                    jdbi,
                                    """
                    SELECT count(*) FROM tasks t
                     WHERE t.attempts <> (SELECT count(*) FROM ended_attempts a WHERE a.task_id = t.id)
                    """))
                    .as("tasks whose attempt count disagrees with their attempt rows")
                    .isZero();
            Map<String, Long> outcomes =
                    groupCount(jdbi, "SELECT outcome, count(*) FROM ended_attempts GROUP BY 1");

            // --- the receiver's account: every task's callback arrived, retries under one
            // webhook-id, all signed
            Map<String, String> webhookIdByDelivery = new HashMap<>();
            jdbi.withHandle(
                            h ->
                                    h.createQuery(
                                                    "SELECT task_id::text AS task_id, id::text AS id FROM callback_deliveries")
                                            .mapToMap()
                                            .list())
                    .forEach(
                            r ->
                                    webhookIdByDelivery.merge(
                                            (String) r.get("task_id"),
                                            "msg_" + ((String) r.get("id")).replace("-", ""),
                                            (a, b) -> a + "," + b));
            assertThat(webhookIdByDelivery).as("one callback delivery row per task").hasSize(TASKS);
            assertThat(webhookIdByDelivery.values()).noneMatch(v -> v.contains(","));

            Webhook verifier = new Webhook(TestNode.WEBHOOK_SECRET);
            Map<String, Set<String>> webhookIdsByTask = new HashMap<>();
            int callbacks = 0;
            while (callbacks < receiver.count()) {
                CallbackReceiver.Received call = receiver.next(Duration.ofSeconds(5));
                callbacks++;
                JsonNode event = json.readTree(call.body());
                assertThat(event.path("type").asText()).isEqualTo("task.succeeded");
                assertThatCode(() -> verifier.verify(call.body(), lowerCase(call.headers())))
                        .doesNotThrowAnyException();
                webhookIdsByTask
                        .computeIfAbsent(
                                event.path("data").path("id").asText(), k -> new HashSet<>())
                        .add(call.header("webhook-id"));
            }
            assertThat(webhookIdsByTask).as("tasks with at least one callback").hasSize(TASKS);
            Map<String, Set<String>> mixed =
                    webhookIdsByTask.entrySet().stream()
                            .filter(e -> e.getValue().size() != 1)
                            .collect(Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue));
            assertThat(mixed).as("tasks whose callbacks carried different webhook-ids").isEmpty();
            webhookIdsByTask.forEach(
                    (task, ids) ->
                            assertThat(ids)
                                    .as("webhook-id of task %s", task)
                                    .containsExactly(webhookIdByDelivery.get(task)));

            // --- rescues: each lost attempt against the kill of the node that held it
            Map<Long, Incarnation> byPid = new HashMap<>();
            incarnations.forEach(n -> byPid.put(n.process.pid(), n));
            List<Long> latencies = new ArrayList<>();
            List<String> lostOnLiveNodes = new ArrayList<>();
            for (Map<String, Object> lost :
                    jdbi.withHandle(
                            h ->
                                    h.createQuery(
                                                    "SELECT node, task_id::text AS task_id, started_at, finished_at FROM ended_attempts WHERE outcome = 'lost'")
                                            .mapToMap()
                                            .list())) {
                String nodeId = (String) lost.get("node");
                Incarnation holder = byPid.get(pidOf(nodeId));
                Instant rescuedAt = ((Timestamp) lost.get("finished_at")).toInstant();
                if (holder != null
                        && holder.killedAt != null
                        && !rescuedAt.isBefore(holder.killedAt)) {
                    latencies.add(Duration.between(holder.killedAt, rescuedAt).toMillis());
                } else {
                    lostOnLiveNodes.add(
                            nodeId
                                    + " task "
                                    + lost.get("task_id")
                                    + " started "
                                    + lost.get("started_at")
                                    + " rescued "
                                    + rescuedAt
                                    + (holder == null
                                            ? " (unknown node)"
                                            : " (" + holder.name + ")"));
                }
            }
            long maxRescueMs = latencies.stream().mapToLong(Long::longValue).max().orElse(-1);
            List<Long> sorted = latencies.stream().sorted().toList();
            long p50 = sorted.isEmpty() ? -1 : sorted.get(sorted.size() / 2);

            System.out.printf(
                    "crash test: tasks=%d lost=%d duplicated_results=%d rescued=%d max_rescue_latency_ms=%d "
                            + "p50_rescue_latency_ms=%d kills=%d pg_restarts=%d pg_outage_ms=%d%n",
                    TASKS,
                    TASKS - succeeded,
                    duplicated,
                    latencies.size() + lostOnLiveNodes.size(),
                    maxRescueMs,
                    p50,
                    kills,
                    pgOutage == null ? 0 : 1,
                    pgOutage == null ? -1 : pgOutage.toMillis());
            System.out.printf(
                    "crash test: attempt_outcomes=%s lost_on_live_nodes=%d callbacks=%d (duplicates=%d) "
                            + "post_retries=%d post_5xx=%d replacement_startup_ms=%s nodes_ready_ms=%d all_finished_ms=%d "
                            + "all_delivered_ms=%d wall_ms=%d%n",
                    outcomes,
                    lostOnLiveNodes.size(),
                    callbacks,
                    callbacks - TASKS,
                    retried.get(),
                    serverErrors.get(),
                    startupMillis,
                    startedMs,
                    allFinishedMs,
                    allDeliveredMs,
                    millisSince(testStart));
            lostOnLiveNodes.forEach(
                    l ->
                            System.out.println(
                                    "crash test: attempt lost on a node that was not killed: "
                                            + l));

            assertThat(kills)
                    .as("kills")
                    .isGreaterThanOrEqualTo(3)
                    .isEqualTo(FAULTS.stream().filter(f -> f == Fault.KILL).count());
            assertThat(pgOutage).as("PostgreSQL restarted midway").isNotNull();
            assertThat(latencies).as("attempts rescued from killed nodes").isNotEmpty();
            assertThat(maxRescueMs)
                    .as("max kill-to-rescue latency (ms); all: %s", sorted)
                    .isLessThanOrEqualTo(RESCUE_BOUND.toMillis());
            assertThat(lostOnLiveNodes).as("attempts rescued from nodes that were alive").isEmpty();
        } finally {
            enqueuers.shutdownNow();
            for (Incarnation node : incarnations) {
                node.process.close();
            }
        }
    }

    /**
     * Kills the node in {@code slot} with SIGKILL and starts a fresh process in its place, which
     * takes traffic (and may be killed in turn) once it is ready.
     */
    private void killAndReplace(int slot, int kill, Map<String, String> env, Path logs)
            throws InterruptedException {
        Incarnation victim = slots.get(slot);
        victim.up = false;
        victim.killedAt = Instant.now();
        victim.process.kill();
        String name = "node-" + slot + "-" + kill;
        long startedAt = System.nanoTime();
        Incarnation replacement = new Incarnation(name, PulseProcess.start(name, env, logs));
        incarnations.add(replacement);
        slots.set(slot, replacement);
        replacement.process.awaitReady(PATIENCE);
        replacement.up = true;
        startupMillis.add(millisSince(startedAt));
    }

    private void assertAllNodesUp() {
        for (int i = 0; i < NODES; i++) {
            assertThat(slots.get(i).up).as(slots.get(i).name + " is up").isTrue();
        }
    }

    /** Lets the enqueuers queue {@code n} more tasks. */
    private void release(int n) {
        released += n;
        queueable.release(n);
    }

    /**
     * Releases a wave and waits for the fault's event: {@link #STARTED_BEFORE_FAULT} attempts
     * started since, and {@link #RUNNING_AT_FAULT} attempts running on one live node (a kill) or in
     * all (a database restart). Returns the running attempts by slot at that moment. Should the
     * wave be done before the event was seen, the next wave is released, and the fault waits on in
     * it; only when no task is left to release does the test give up.
     */
    private Map<Integer, Long> awaitFaultEvent(
            Jdbi jdbi, Fault fault, AtomicInteger created, List<Future<?>> enqueueing)
            throws Exception {
        long startedBefore = count(jdbi, "SELECT coalesce(sum(attempts), 0) FROM tasks");
        release(WAVE);
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (true) {
            rethrowEnqueueFailures(enqueueing);
            long started =
                    count(jdbi, "SELECT coalesce(sum(attempts), 0) FROM tasks") - startedBefore;
            Map<Integer, Long> running = runningBySlot(jdbi);
            long most = running.values().stream().mapToLong(Long::longValue).max().orElse(0);
            long all = running.values().stream().mapToLong(Long::longValue).sum();
            if (started >= STARTED_BEFORE_FAULT
                    && (fault == Fault.KILL ? most : all) >= RUNNING_AT_FAULT) {
                return running;
            }
            boolean waveDone =
                    created.get() >= released
                            && count(
                                            jdbi,
                                            "SELECT count(*) FROM tasks WHERE state IN ('succeeded', 'failed', 'cancelled')")
                                    >= released;
            if (waveDone) {
                assertThat(released)
                        .as("tasks left to release for the fault %s", fault)
                        .isLessThan(TASKS);
                System.out.printf(
                        "crash test: wave done before the %s event (%d started); releasing another%n",
                        fault, started);
                startedBefore = count(jdbi, "SELECT coalesce(sum(attempts), 0) FROM tasks");
                release(Math.min(WAVE, TASKS - released));
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(
                        "no event for the fault "
                                + fault
                                + " within "
                                + PATIENCE
                                + ": "
                                + started
                                + " started, running by slot "
                                + running
                                + "\n"
                                + tails());
            }
            Thread.sleep(50);
        }
    }

    /** Running attempts per slot whose current node is up. */
    private Map<Integer, Long> runningBySlot(Jdbi jdbi) {
        Map<Integer, Long> out = new TreeMap<>();
        groupCount(
                        jdbi,
                        "SELECT lease_owner, count(*) FROM tasks WHERE state = 'running' GROUP BY 1")
                .forEach(
                        (node, n) -> {
                            if (!"null".equals(node)) {
                                for (int i = 0; i < NODES; i++) {
                                    Incarnation holder = slots.get(i);
                                    if (holder.up && holder.process.pid() == pidOf(node)) {
                                        out.put(i, n);
                                    }
                                }
                            }
                        });
        return out;
    }

    private static int busiestNode(Map<Integer, Long> runningBySlot) {
        return runningBySlot.entrySet().stream()
                .max(Map.Entry.comparingByValue())
                .orElseThrow()
                .getKey();
    }

    private static void rethrowEnqueueFailures(List<Future<?>> enqueueing) throws Exception {
        for (Future<?> f : enqueueing) {
            if (f.isDone()) {
                f.get();
            }
        }
    }

    /**
     * Waits until no unfinished attempt belongs to a killed node, so the database restart doesn't
     * overlap a rescue and the measured rescue latencies are the nodes', not the outage's.
     */
    private void awaitKilledNodesRescued(Jdbi jdbi) throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (true) {
            Set<Long> killed = new HashSet<>();
            synchronized (incarnations) {
                incarnations.stream()
                        .filter(n -> n.killedAt != null)
                        .forEach(n -> killed.add(n.process.pid()));
            }
            List<String> open =
                    jdbi.withHandle(
                            h ->
                                    h.createQuery(
                                                    "SELECT DISTINCT lease_owner FROM tasks WHERE state = 'running'")
                                            .mapTo(String.class)
                                            .list());
            if (open.stream().noneMatch(node -> killed.contains(pidOf(node)))) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(
                        "attempts of killed nodes still running after " + PATIENCE + ": " + open);
            }
            Thread.sleep(100);
        }
    }

    /** POSTs task {@code i} to a live node, retrying on another one until it is accepted. */
    private void enqueue(
            int i,
            String callbackUrl,
            AtomicInteger created,
            AtomicInteger retried,
            AtomicInteger serverErrors)
            throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        int ms = ThreadLocalRandom.current().nextInt(20, 301);
        String body =
                "{\"agent\": \"sleep\", \"input\": {\"ms\": "
                        + ms
                        + "}, \"max_attempts\": 10, \"callback_url\": \""
                        + callbackUrl
                        + "\"}";
        String failure = null;
        for (int attempt = 0; System.nanoTime() < deadline; attempt++) {
            Incarnation node = liveNode(i + attempt);
            if (node == null) {
                Thread.sleep(100);
                continue;
            }
            try {
                HttpResponse<String> r =
                        http.send(
                                HttpRequest.newBuilder(URI.create(node.process.url("/v1/tasks")))
                                        .timeout(Duration.ofSeconds(60))
                                        .header("Authorization", "Bearer " + TestNode.ADMIN_KEY)
                                        .header("Content-Type", "application/json")
                                        .header("Idempotency-Key", "crash-" + i)
                                        .POST(HttpRequest.BodyPublishers.ofString(body))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 201 || r.statusCode() == 200) {
                    created.incrementAndGet();
                    return;
                }
                if (r.statusCode() < 500) {
                    throw new AssertionError(
                            "POST of task " + i + " refused: " + r.statusCode() + " " + r.body());
                }
                serverErrors.incrementAndGet();
                failure = r.statusCode() + " " + r.body();
            } catch (IOException e) {
                failure = e.toString(); // the node died under the request, or is going down
            }
            retried.incrementAndGet();
            Thread.sleep(50);
        }
        throw new AssertionError(
                "task "
                        + i
                        + " could not be queued within "
                        + PATIENCE
                        + "; last failure: "
                        + failure);
    }

    private Incarnation liveNode(int hint) {
        for (int k = 0; k < NODES; k++) {
            Incarnation n = slots.get(Math.floorMod(hint + k, NODES));
            if (n != null && n.up) {
                return n;
            }
        }
        return null;
    }

    /** Node ids are {@code <host>-<pid>-<hex>}; the host may itself contain dashes. */
    private static long pidOf(String nodeId) {
        String[] parts = nodeId.split("-");
        return Long.parseLong(parts[parts.length - 2]);
    }

    private String tails() {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < NODES; i++) {
            Incarnation n = slots.get(i);
            out.append("--- ")
                    .append(n.name)
                    .append(" (alive: ")
                    .append(n.process.isAlive())
                    .append(")\n")
                    .append(n.process.logTail())
                    .append('\n');
        }
        return out.toString();
    }

    private static Map<String, List<String>> lowerCase(Map<String, List<String>> headers) {
        return headers.entrySet().stream()
                .collect(
                        Collectors.toMap(
                                e -> e.getKey().toLowerCase(Locale.ROOT),
                                Map.Entry::getValue,
                                (a, b) -> a));
    }

    private static Map<String, Long> groupCount(Jdbi jdbi, String sql) {
        Map<String, Long> out = new TreeMap<>();
        jdbi.withHandle(
                        h ->
                                h.createQuery(sql)
                                        .map(
                                                (rs, ctx) ->
                                                        Map.entry(
                                                                String.valueOf(rs.getString(1)),
                                                                rs.getLong(2)))
                                        .list())
                .forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    private static long count(Jdbi jdbi, String sql) {
        return jdbi.withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
    }

    /**
     * A count, or {@code previous} while the database is unreachable (it is restarted on purpose).
     */
    private static long countOr(Jdbi jdbi, String sql, long previous) {
        try {
            return count(jdbi, sql);
        } catch (RuntimeException e) {
            return previous;
        }
    }

    private static long millisSince(long nanos) {
        return (System.nanoTime() - nanos) / 1_000_000;
    }
}
