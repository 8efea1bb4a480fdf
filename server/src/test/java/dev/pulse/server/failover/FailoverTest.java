package dev.pulse.server.failover;

import static dev.pulse.server.failover.Probes.PATIENCE;
import static dev.pulse.server.failover.Probes.applicationNames;
import static dev.pulse.server.failover.Probes.await;
import static dev.pulse.server.failover.Probes.count;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.testing.CallbackReceiver;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A real primary with a synchronous standby (the PostgreSQL server binaries, started in temporary
 * directories on free ports), one Pulse node on the multi-host URL ({@code
 * targetServerType=primary}), tasks queued continuously through the API with callbacks to a
 * loopback stand-in for a client. The primary then hangs (SIGSTOP: its sockets go silent) or dies
 * (SIGKILL), and the standby is promoted, as Patroni or CloudNativePG would. Without a restart, the
 * node answers 503 with Retry-After during the gap, then queues, runs and calls back again; every
 * task it answered 201 for exists on the new primary, every task ended once, and every task's
 * callback carried one webhook-id. The worker LISTENs on the new primary again, and every
 * connection there is named {@code pulse-<node>}.
 */
class FailoverTest {

    /** How long anything awaited may take on a busy machine; the happy path returns at once. */
    private static final int BEFORE = 20;

    private static final int AFTER = 20;

    private final ObjectMapper json = new ObjectMapper();

    enum Failure {
        FREEZE,
        KILL
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void aFrozenPrimaryIsReplacedByThePromotedStandbyWithNothingLostOrDoneTwice() throws Exception {
        failover(Failure.FREEZE);
    }

    @Test
    @Timeout(value = 10, unit = TimeUnit.MINUTES)
    void aKilledPrimaryIsReplacedByThePromotedStandbyWithNothingLostOrDoneTwice() throws Exception {
        failover(Failure.KILL);
    }

    private void failover(Failure failure) throws Exception {
        Path bin = binaries();
        long testStart = System.nanoTime();
        Path work = PostgresCluster.workDirectory();
        try (PostgresCluster primary = PostgresCluster.primary(bin, work);
                PostgresCluster standby = PostgresCluster.standbyOf(primary, work);
                CallbackReceiver receiver = new CallbackReceiver()) {
            Jdbi onPrimary = Jdbi.create(primary.jdbcUrl());
            await(
                    "the standby is synchronous",
                    () ->
                            onPrimary.withHandle(
                                    h ->
                                            h.createQuery(
                                                                    "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'")
                                                            .mapTo(Long.class)
                                                            .one()
                                                    == 1));
            String url =
                    "jdbc:postgresql://127.0.0.1:"
                            + primary.port()
                            + ",127.0.0.1:"
                            + standby.port()
                            + "/postgres?user=postgres&targetServerType=primary";
            Map<String, String> env = new HashMap<>();
            env.put("PULSE_DATABASE_SOCKET_TIMEOUT", "3s");
            env.put("PULSE_LEASE_SECONDS", "5");
            env.put("PULSE_WORKER_CONCURRENCY", "8");
            env.put("PULSE_CALLBACK_TIMEOUT", "5s");
            try (TestNode node = new TestNode(new DatabaseUrl(url, null, null), env);
                    Producer producer = new Producer(node, receiver.url("/hook"))) {
                producer.start();
                await("tasks accepted before the failure", () -> producer.accepted() >= BEFORE);

                long failedAt = System.nanoTime();
                if (failure == Failure.FREEZE) {
                    primary.freeze();
                } else {
                    primary.kill();
                }
                HttpResponse<String> during =
                        node.send(
                                node.request("/v1/tasks")
                                        .timeout(Duration.ofSeconds(60))
                                        .POST(
                                                HttpRequest.BodyPublishers.ofString(
                                                        "{\"agent\": \"echo\", \"input\": {\"during\": \"gap\"}}"))
                                        .build());
                long gapAnsweredMs = millisSince(failedAt);
                assertThat(during.statusCode()).as(during.body()).isEqualTo(503);
                assertThat(during.headers().firstValue("Retry-After")).isPresent();
                assertThat(during.headers().firstValue("Content-Type").orElse(""))
                        .startsWith("application/problem+json");
                assertThat(json.readTree(during.body()).path("detail").asText()).contains("retry");

                standby.promote();
                long promotedAt = System.nanoTime();
                int acceptedAtPromotion = producer.accepted();
                await(
                        "tasks accepted again after the promotion",
                        () -> producer.accepted() >= acceptedAtPromotion + AFTER);
                long recoveredMs = millisSince(promotedAt);
                producer.close();

                Jdbi onNew = Jdbi.create(standby.jdbcUrl());
                await(
                        "the worker LISTENs on the new primary again",
                        () ->
                                count(
                                                onNew,
                                                "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN pulse_tasks'")
                                        == 1);
                String nodeId =
                        onNew.withHandle(
                                h ->
                                        h.createQuery("SELECT id FROM nodes")
                                                .mapTo(String.class)
                                                .one());
                // A backend still starting up has no name yet (state NULL): connected ones only.
                await(
                        "every connection of the node to the new primary is named after it",
                        () -> List.of("pulse-" + nodeId).equals(applicationNames(onNew)));
                List<String> accepted = producer.ids();
                await(
                        "every task accepted ended",
                        () ->
                                count(
                                                onNew,
                                                "SELECT count(*) FROM tasks WHERE state NOT IN ('succeeded', 'failed', 'cancelled')")
                                        == 0);
                Map<String, Set<String>> webhookIds = new ConcurrentHashMap<>();
                List<String> deliveries = new ArrayList<>();
                long tasks = count(onNew, "SELECT count(*) FROM tasks");
                awaitCallbacks(receiver, webhookIds, deliveries, tasks);

                Set<String> stored =
                        new HashSet<>(
                                onNew.withHandle(
                                        h ->
                                                h.createQuery("SELECT id::text FROM tasks")
                                                        .mapTo(String.class)
                                                        .list()));
                assertThat(stored).as("every task answered 201 exists").containsAll(accepted);
                assertThat(count(onNew, "SELECT count(*) FROM tasks WHERE state <> 'succeeded'"))
                        .as("tasks that did not succeed")
                        .isZero();
                assertThat(
                                count(
                                        onNew,
                                        """
                        SELECT count(*) FROM tasks t
                         WHERE (SELECT count(*) FROM ended_attempts a
                                 WHERE a.task_id = t.id AND a.outcome = 'succeeded') <> 1
                        """))
                        .as("tasks without exactly one succeeded attempt")
                        .isZero();
                assertThat(
                                count(
                                        onNew,
                                        "SELECT count(*) FROM callback_deliveries WHERE state <> 'delivered'"))
                        .as("callbacks not delivered")
                        .isZero();
                assertThat(webhookIds.keySet()).as("tasks called back").containsAll(stored);
                assertThat(webhookIds.values())
                        .as("each task's callback carries one webhook-id, however often sent")
                        .allMatch(ids -> ids.size() == 1);
                assertThat(producer.unexpected()).as("answers other than 201 and 503").isEmpty();

                System.out.printf(
                        "failover test (%s): accepted=%d stored=%d refused_503=%d gap_503_after_ms=%d "
                                + "recovered_after_promotion_ms=%d callbacks_received=%d distinct=%d wall_ms=%d%n",
                        failure,
                        accepted.size(),
                        stored.size(),
                        producer.refused(),
                        gapAnsweredMs,
                        recoveredMs,
                        deliveries.size(),
                        new HashSet<>(deliveries).size(),
                        millisSince(testStart));
            }
        } finally {
            PostgresCluster.delete(work);
        }
    }

    private void awaitCallbacks(
            CallbackReceiver receiver,
            Map<String, Set<String>> webhookIds,
            List<String> deliveries,
            long tasks)
            throws Exception {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (webhookIds.size() < tasks) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(
                        "callbacks of " + webhookIds.size() + " of " + tasks + " tasks arrived");
            }
            CallbackReceiver.Received r;
            try {
                r = receiver.next(Duration.ofSeconds(1));
            } catch (AssertionError none) {
                continue;
            }
            JsonNode event = json.readTree(r.body());
            String webhookId = r.header("webhook-id");
            deliveries.add(webhookId);
            webhookIds
                    .computeIfAbsent(event.path("data").path("id").asText(), k -> new HashSet<>())
                    .add(webhookId);
        }
    }

    /** Queues tasks one after another through the API until closed, noting what was answered. */
    private static final class Producer implements AutoCloseable {

        private final TestNode node;
        private final String callbackUrl;
        private final List<String> ids = new CopyOnWriteArrayList<>();
        private final List<String> unexpected = new CopyOnWriteArrayList<>();
        private volatile int refused;
        private volatile boolean running = true;
        private final Thread thread;

        Producer(TestNode node, String callbackUrl) {
            this.node = node;
            this.callbackUrl = callbackUrl;
            this.thread = new Thread(this::run, "failover-producer");
        }

        void start() {
            thread.start();
        }

        private void run() {
            ObjectMapper json = new ObjectMapper();
            int n = 0;
            while (running) {
                String body =
                        "{\"agent\": \"echo\", \"input\": {\"n\": "
                                + n++
                                + "}, \"callback_url\": \""
                                + callbackUrl
                                + "\"}";
                try {
                    HttpResponse<String> r =
                            node.send(
                                    node.request("/v1/tasks")
                                            .timeout(Duration.ofSeconds(60))
                                            .POST(HttpRequest.BodyPublishers.ofString(body))
                                            .build());
                    if (r.statusCode() == 201) {
                        ids.add(json.readTree(r.body()).path("id").asText());
                    } else if (r.statusCode() == 503
                            && r.headers().firstValue("Retry-After").isPresent()) {
                        refused++;
                        Thread.sleep(200);
                    } else {
                        unexpected.add(r.statusCode() + " " + r.body());
                    }
                } catch (InterruptedException e) {
                    return;
                } catch (Exception e) {
                    unexpected.add(e.toString());
                }
            }
        }

        int accepted() {
            return ids.size();
        }

        List<String> ids() {
            return List.copyOf(ids);
        }

        int refused() {
            return refused;
        }

        List<String> unexpected() {
            return List.copyOf(unexpected);
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.join(TimeUnit.SECONDS.toMillis(90));
        }
    }

    private static Path binaries() {
        var bin = PostgresCluster.binaries();
        if (bin.isEmpty()) {
            System.err.println(
                    "!!! FailoverTest SKIPPED: no PostgreSQL server binaries (initdb, pg_ctl,"
                            + " pg_basebackup) in /usr/lib/postgresql/<15|16|17>/bin or"
                            + " PULSE_TEST_PG_BINDIR; install Debian's postgresql package");
        }
        Assumptions.assumeTrue(
                bin.isPresent(),
                "no PostgreSQL server binaries: install Debian's postgresql package or set PULSE_TEST_PG_BINDIR");
        return bin.get();
    }

    private static long millisSince(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }
}
