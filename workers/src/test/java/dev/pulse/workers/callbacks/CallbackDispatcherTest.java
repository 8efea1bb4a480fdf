package dev.pulse.workers.callbacks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.standardwebhooks.Webhook;
import com.standardwebhooks.exceptions.WebhookVerificationException;
import dev.pulse.executors.http.EgressPolicy;
import dev.pulse.executors.http.PolicyEnforcement;
import dev.pulse.workers.metrics.QueueMetrics;
import dev.pulse.workers.queue.ClaimedTask;
import dev.pulse.workers.queue.TaskCompleter;
import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.testing.CallbackReceiver;
import dev.pulse.workers.testing.QueueKit;
import dev.pulse.workers.timing.Backoff;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import okhttp3.OkHttpClient;
import org.assertj.core.api.Assertions;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Outbox delivery to a real HTTP receiver on loopback, verified with the Standard Webhooks library.
 */
class CallbackDispatcherTest {

    private static final Duration WAIT = Duration.ofMinutes(2);

    /**
     * The request timeout: on a busy machine a loopback answer may take seconds, never this long.
     */
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(60);

    /**
     * The lease of deliveries written claimed for this node's memory; far longer than any test
     * takes.
     */
    private static final Duration LOCAL_LEASE = Duration.ofMinutes(5);

    private final WebhookSecret secret = WebhookSecret.generate(new Random(1));
    @RegisterExtension final QueueKit kit = new QueueKit();
    private CallbackReceiver receiver;
    private CallbackDispatcher dispatcher;

    /** What the dispatcher takes from memory; none but in the tests of that path. */
    private LocalDeliveries local = LocalDeliveries.none();

    @BeforeEach
    void setUp() {
        receiver = new CallbackReceiver();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (dispatcher != null) {
            dispatcher.close();
        }
        receiver.close();
    }

    private void startDispatcher(int maxAttempts) {
        startDispatcher(maxAttempts, EgressPolicy.allowing("127.0.0.1/32"));
    }

    private void startDispatcher(int maxAttempts, EgressPolicy egress) {
        startDispatcher(
                egress,
                new CallbackDispatcher.Settings(
                        2, maxAttempts, Duration.ofMillis(100), REQUEST_TIMEOUT));
    }

    private void startDispatcher(EgressPolicy egress, CallbackDispatcher.Settings settings) {
        dispatcher = newDispatcher(egress, settings);
        dispatcher.start();
    }

    private CallbackDispatcher newDispatcher(
            EgressPolicy egress, CallbackDispatcher.Settings settings) {
        return newDispatcher(kit.database.jdbi(), egress, settings);
    }

    private CallbackDispatcher newDispatcher(
            Jdbi jdbi, EgressPolicy egress, CallbackDispatcher.Settings settings) {
        return new CallbackDispatcher(
                jdbi,
                new CallbackDispatcher.Sending(
                        PolicyEnforcement.apply(new OkHttpClient(), egress),
                        new WebhookSigner(secret),
                        new Backoff(Duration.ofMillis(50), Duration.ofMillis(200), new Random(3))),
                Clock.systemUTC(),
                kit.dispatcherWakeUp,
                settings,
                local,
                QueueMetrics.discarded());
    }

    private void finishTasksWithCallbacks(int n) {
        finishTasksWithCallbacks(n, kit.completer);
    }

    private void finishTasksWithCallbacks(int n, TaskCompleter completer) {
        for (int i = 0; i < n; i++) {
            kit.insert(kit.withCallback("echo", receiver.url("/hooks/pulse"), 1));
        }
        List<ClaimedTask> claimed = kit.claimer("node-a").claim(n);
        assertThat(claimed).hasSize(n);
        completer.recordAll(
                claimed.stream()
                        .map(c -> completer.succeeded(c, kit.jsonOf("{\"ok\": true}"), null))
                        .toList());
    }

    private static final String CLAIMED_AT_INSERT =
            "SELECT count(*) FROM callback_deliveries WHERE attempts = 1 AND next_attempt_at > now() + interval '4 minutes'";
    private static final String DUE_AT_INSERT =
            "SELECT count(*) FROM callback_deliveries WHERE attempts = 0 AND next_attempt_at <= now()";

    @Test
    void deliveriesWrittenOnThisNodeAreSentFromMemoryWithoutAClaim() throws Exception {
        local = new LocalDeliveries(10, LOCAL_LEASE, Clock.systemUTC());
        finishTasksWithCallbacks(5, kit.completerHandingOverTo(local));
        // Written claimed for a lease of five minutes: no claim can take them before it passes.
        assertThat(kit.count(CLAIMED_AT_INSERT)).isEqualTo(5);

        startDispatcher(5);

        awaitDeliveries("delivered", 5);
        assertThat(receiver.count()).isEqualTo(5);
        assertThat(kit.count("SELECT count(*) FROM callback_deliveries WHERE attempts = 1"))
                .isEqualTo(5);
    }

    @Test
    void pastItsRoomTheOutboxWritesDeliveriesDueForAClaim() throws Exception {
        local = new LocalDeliveries(3, LOCAL_LEASE, Clock.systemUTC());
        finishTasksWithCallbacks(5, kit.completerHandingOverTo(local));
        assertThat(kit.count(CLAIMED_AT_INSERT)).isEqualTo(3);
        assertThat(kit.count(DUE_AT_INSERT)).isEqualTo(2);

        startDispatcher(5);

        awaitDeliveries("delivered", 5);
        assertThat(receiver.count()).isEqualTo(5);
    }

    @Test
    void aRolledBackTransactionHandsNothingOver() {
        local = new LocalDeliveries(10, LOCAL_LEASE, Clock.systemUTC());
        TaskCompleter completer = kit.completerHandingOverTo(local);
        kit.insert(kit.withCallback("echo", receiver.url("/hooks/pulse"), 1));
        ClaimedTask claimed = kit.claimer("node-a").claim(1).get(0);
        Task ended = completer.succeed(claimed, kit.jsonOf("{}"), null).orElseThrow();
        CallbackOutbox outbox = kit.outboxHandingOverTo(local);
        local.take(10); // what the completion handed over

        assertThatThrownBy(
                        () ->
                                kit.database
                                        .jdbi()
                                        .useTransaction(
                                                h -> {
                                                    outbox.enqueue(h, ended);
                                                    throw new IllegalStateException("rolled back");
                                                }))
                .hasMessage("rolled back");

        assertThat(local.take(10)).isEmpty();
        assertThat(kit.count("SELECT count(*) FROM callback_deliveries")).isEqualTo(1);
    }

    @Test
    void deliveriesInMemoryAreSentWhileTheOutboxCannotBeClaimed() throws Exception {
        local = new LocalDeliveries(10, LOCAL_LEASE, Clock.systemUTC());
        CallbackDelivery inMemory =
                new CallbackDelivery(
                        UUID.randomUUID(),
                        UUID.randomUUID(),
                        receiver.url("/hooks/pulse"),
                        "{\"type\": \"task.succeeded\"}",
                        1);
        local.handOver(List.of(inMemory));
        // Every outbox claim fails: a delivery taken from memory before a failed claim was lost
        // from memory, and would have waited for its claim lease to pass.
        dispatcher =
                newDispatcher(
                        Jdbi.create("jdbc:postgresql://127.0.0.1:1/unreachable"),
                        EgressPolicy.allowing("127.0.0.1/32"),
                        new CallbackDispatcher.Settings(
                                2, 5, Duration.ofMillis(100), REQUEST_TIMEOUT));
        dispatcher.start();

        CallbackReceiver.Received call = receiver.next(WAIT);

        assertThat(call.header("webhook-id")).isEqualTo(inMemory.webhookId());
    }

    @Test
    void closingTheDispatcherMakesDeliveriesNeverSentDueAgain() throws Exception {
        local = new LocalDeliveries(10, LOCAL_LEASE, Clock.systemUTC());
        finishTasksWithCallbacks(3, kit.completerHandingOverTo(local));
        dispatcher =
                newDispatcher(
                        EgressPolicy.allowing("127.0.0.1/32"),
                        new CallbackDispatcher.Settings(
                                2, 5, Duration.ofMillis(100), REQUEST_TIMEOUT));

        dispatcher.close(); // never started: the three wait in memory
        dispatcher = null;

        assertThat(kit.count(DUE_AT_INSERT)).isEqualTo(3);
        assertThat(local.room()).isZero();
        assertThat(receiver.count()).isZero();
    }

    @Test
    void manyDeliveriesAreSentOnceEachAndRecordedInBatches() throws Exception {
        finishTasksWithCallbacks(60);
        startDispatcher(
                EgressPolicy.allowing("127.0.0.1/32"),
                new CallbackDispatcher.Settings(8, 5, Duration.ofMillis(100), REQUEST_TIMEOUT));

        awaitDeliveries("delivered", 60);
        assertThat(receiver.count()).isEqualTo(60);
        assertThat(
                        kit.count(
                                "SELECT count(DISTINCT task_id) FROM callback_deliveries WHERE state = 'delivered'"
                                        + " AND attempts = 1 AND last_status = 200 AND delivered_at IS NOT NULL"))
                .isEqualTo(60);
    }

    @Test
    void closingTheDispatcherRecordsEveryOutcomeAlreadyReceived() throws Exception {
        finishTasksWithCallbacks(30);
        startDispatcher(
                EgressPolicy.allowing("127.0.0.1/32"),
                new CallbackDispatcher.Settings(8, 5, Duration.ofMillis(100), REQUEST_TIMEOUT));
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (receiver.count() < 30 && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertThat(receiver.count()).isEqualTo(30);

        dispatcher.close();
        dispatcher = null;

        // No waiting after close: every outcome the senders had was recorded before it returned.
        assertThat(kit.count("SELECT count(*) FROM callback_deliveries WHERE state = 'delivered'"))
                .isEqualTo(30);
    }

    @Test
    void noMoreThanPerDestinationRequestsAreInFlightToOneReceiver() throws Exception {
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        receiver.respondWith(
                () -> {
                    most.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
                    try {
                        Thread.sleep(30);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    inFlight.decrementAndGet();
                    return 204;
                });
        finishTasksWithCallbacks(16);
        startDispatcher(
                EgressPolicy.allowing("127.0.0.1/32"),
                new CallbackDispatcher.Settings(8, 5, Duration.ofMillis(100), REQUEST_TIMEOUT, 2));

        awaitDeliveries("delivered", 16);
        assertThat(most.get()).isBetween(1, 2);
    }

    private void awaitDeliveries(String state, int n) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline
                && kit.count(
                                "SELECT count(*) FROM callback_deliveries WHERE state = '"
                                        + state
                                        + "'")
                        < n) {
            Thread.sleep(20);
        }
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM callback_deliveries WHERE state = '"
                                        + state
                                        + "'"))
                .isEqualTo(n);
    }

    private Task finishTaskWithCallback() {
        Task task = kit.insert(kit.withCallback("echo", receiver.url("/hooks/pulse"), 1));
        ClaimedTask claimed = kit.claimer("node-a").claim(1).get(0);
        kit.completer.succeed(claimed, kit.jsonOf("{\"ok\": true}"), null);
        return task;
    }

    @Test
    void deliversTheTaskEventSignedSoAStandardWebhooksLibraryVerifiesIt() throws Exception {
        Task task = finishTaskWithCallback();
        startDispatcher(5);

        CallbackReceiver.Received call = receiver.next(WAIT);

        assertThat(call.path()).isEqualTo("/hooks/pulse");
        assertThat(call.header("webhook-id")).startsWith("msg_");
        assertThat(call.header("webhook-signature")).startsWith("v1,");
        assertThat(call.header("content-type")).startsWith("application/json");
        assertThatCode(
                        () ->
                                new Webhook(secret.reveal())
                                        .verify(call.body(), lowerCase(call.headers())))
                .doesNotThrowAnyException();
        JsonNode event = kit.jsonOf(call.body());
        assertThat(event.path("type").asText()).isEqualTo("task.succeeded");
        assertThat(event.path("timestamp").asText()).isNotEmpty();
        assertThat(event.path("data").path("id").asText()).isEqualTo(task.id().toString());
        assertThat(event.path("data").path("state").asText()).isEqualTo("succeeded");
        assertThat(event.path("data").path("result")).isEqualTo(kit.jsonOf("{\"ok\": true}"));

        awaitDeliveryState("delivered");
    }

    @Test
    void aTamperedBodyDoesNotVerify() throws Exception {
        finishTaskWithCallback();
        startDispatcher(5);
        CallbackReceiver.Received call = receiver.next(WAIT);

        Assertions.assertThatThrownBy(
                        () ->
                                new Webhook(secret.reveal())
                                        .verify(
                                                call.body().replace("true", "false"),
                                                lowerCase(call.headers())))
                .isInstanceOf(WebhookVerificationException.class);
    }

    @Test
    void failedDeliveriesAreRetriedWithTheSameWebhookIdUntilTheReceiverAccepts() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        receiver.respondWith(() -> calls.incrementAndGet() <= 2 ? 503 : 204);
        finishTaskWithCallback();
        startDispatcher(5);

        List<String> ids =
                List.of(
                        receiver.next(WAIT).header("webhook-id"),
                        receiver.next(WAIT).header("webhook-id"),
                        receiver.next(WAIT).header("webhook-id"));

        assertThat(ids).containsOnly(ids.get(0));
        awaitDeliveryState("delivered");
        assertThat(kit.count("SELECT attempts FROM callback_deliveries")).isEqualTo(3);
        assertThat(kit.count("SELECT last_status FROM callback_deliveries")).isEqualTo(204);
    }

    @Test
    void aDeliveryThatKeepsFailingIsMarkedDeadAfterItsLastAttempt() throws Exception {
        receiver.respondWith(() -> 500);
        finishTaskWithCallback();
        startDispatcher(2);

        awaitDeliveryState("dead");
        assertThat(receiver.count()).isEqualTo(2);
        assertThat(kit.count("SELECT last_status FROM callback_deliveries")).isEqualTo(500);
    }

    @Test
    void aCallbackToADestinationTheEgressPolicyRefusesIsNotSent() throws Exception {
        finishTaskWithCallback();
        startDispatcher(1, EgressPolicy.allowing(""));

        awaitDeliveryState("dead");
        assertThat(receiver.count()).isZero();
        String error =
                kit.database
                        .jdbi()
                        .withHandle(
                                h ->
                                        h.createQuery("SELECT last_error FROM callback_deliveries")
                                                .mapTo(String.class)
                                                .one());
        assertThat(error).contains("egress policy").contains("PULSE_EGRESS_ALLOW");
    }

    private void awaitDeliveryState(String state) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            if (kit.count("SELECT count(*) FROM callback_deliveries WHERE state = '" + state + "'")
                    == 1) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("delivery never became " + state);
    }

    private static Map<String, List<String>> lowerCase(Map<String, List<String>> headers) {
        return headers.entrySet().stream()
                .collect(
                        Collectors.toMap(
                                e -> e.getKey().toLowerCase(Locale.ROOT),
                                Map.Entry::getValue,
                                (a, b) -> a));
    }
}
