package dev.pulse.server.api.async;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.workers.keys.ApiKeyStore;
import dev.pulse.workers.keys.Scope;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.EnumSet;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Serverless agents in {@code mode: async}: the endpoint accepts the run with 202 and later reports
 * the result to {@code POST /v1/tasks/{id}/complete} with the lease token it was sent.
 */
class AsyncAgentTest {

    /**
     * The lease test nodes hold ({@code PULSE_LEASE_SECONDS} in {@link TestNode#baseEnvironment}).
     */
    private static final Duration LEASE = Duration.ofSeconds(2);

    /**
     * How long anything awaited here may take on a busy machine; the happy path returns as soon as
     * it holds.
     */
    private static final Duration PATIENCE = Duration.ofMinutes(2);

    private static final ObjectMapper json = new ObjectMapper();
    private static AsyncFunctionStandIn function;
    private static TestNode pulse;
    private static String reporterKey;

    @BeforeAll
    static void start() throws Exception {
        function = new AsyncFunctionStandIn();
        pulse = new TestNode();
        reporterKey =
                new ApiKeyStore(pulse.jdbi, new SecureRandom())
                        .create("async-function", EnumSet.of(Scope.TASKS_COMPLETE));
        assertThat(
                        pulse.send(
                                        pulse.request("/v1/agents/later")
                                                .PUT(
                                                        HttpRequest.BodyPublishers.ofString(
                                                                """
                {"apiVersion": "pulse/v1", "kind": "Agent", "metadata": {"name": "later"},
                 "spec": {"executor": "serverless", "max_attempts": 2, "serverless": {"url": "%s", "mode": "async"}}}
                """
                                                                        .formatted(function.url())))
                                                .build())
                                .statusCode())
                .isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        pulse.close();
        function.close();
    }

    @Test
    void theReportedResultCompletesTheTaskOnceAndOnlyWithItsToken() throws Exception {
        String id = enqueue("{\"agent\": \"later\", \"input\": {\"text\": \"hi\"}}");
        AsyncFunctionStandIn.Accepted run = function.nextRun();
        assertThat(run.taskId()).isEqualTo(id);
        assertThat(run.attempt()).isEqualTo("1");
        assertThat(json.readTree(run.body())).isEqualTo(json.readTree("{\"text\": \"hi\"}"));
        assertThat(run.completeUrl()).isEqualTo(pulse.url("/v1/tasks/" + id + "/complete"));
        assertThat(task(id).path("state").asText()).as("waits for the report").isEqualTo("running");

        HttpResponse<String> wrongToken =
                report(
                        run.completeUrl(),
                        reporterKey,
                        "{\"lease_token\": \""
                                + UUID.randomUUID()
                                + "\", \"result\": {\"forged\": true}}");
        assertThat(wrongToken.statusCode()).as(wrongToken.body()).isEqualTo(409);
        assertThat(wrongToken.body()).contains("lease token");
        assertThat(task(id).path("state").asText()).isEqualTo("running");

        HttpResponse<String> reported =
                report(
                        run.completeUrl(),
                        reporterKey,
                        "{\"lease_token\": \""
                                + run.leaseToken()
                                + "\", \"result\": {\"summary\": \"HI\"}, \"logs\": \"took a while\"}");
        assertThat(reported.statusCode()).as(reported.body()).isEqualTo(200);
        assertThat(json.readTree(reported.body()).path("state").asText()).isEqualTo("succeeded");
        assertThat(json.readTree(reported.body()).path("result"))
                .isEqualTo(json.readTree("{\"summary\": \"HI\"}"));

        HttpResponse<String> again =
                report(
                        run.completeUrl(),
                        reporterKey,
                        "{\"lease_token\": \""
                                + run.leaseToken()
                                + "\", \"result\": {\"summary\": \"again\"}}");
        assertThat(again.statusCode()).as("a second report").isEqualTo(409);
        assertThat(task(id).path("result")).isEqualTo(json.readTree("{\"summary\": \"HI\"}"));

        JsonNode attempts =
                json.readTree(pulse.get("/v1/tasks/" + id + "/attempts").body()).path("items");
        assertThat(attempts).hasSize(1);
        assertThat(attempts.get(0).path("outcome").asText()).isEqualTo("succeeded");
        assertThat(attempts.get(0).path("logs").asText()).isEqualTo("took a while");
        awaitFreeSlot(id);
    }

    @Test
    void theLeaseIsRenewedWhileTheAgentWorks() throws Exception {
        // Test nodes lease for 2 s. The report waits (however long that takes) until the lease has
        // been renewed past five of them: by then a lease that was not renewed would be over three
        // leases overdue, which the rescuer takes even from a node that still beats.
        String id = enqueue("{\"agent\": \"later\", \"timeout_seconds\": 600}");
        AsyncFunctionStandIn.Accepted run = function.nextRun();
        Instant firstExpiry = leaseExpiry(id);
        Instant renewedPast = firstExpiry.plus(LEASE.multipliedBy(5));
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        Instant expiry = firstExpiry;
        while (expiry.isBefore(renewedPast)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(
                        "lease of "
                                + id
                                + " not renewed past "
                                + renewedPast
                                + " within "
                                + PATIENCE
                                + " (first expiry "
                                + firstExpiry
                                + ", now "
                                + expiry
                                + ")");
            }
            Thread.sleep(100);
            expiry = leaseExpiry(id);
        }
        HttpResponse<String> reported =
                report(
                        run.completeUrl(),
                        reporterKey,
                        "{\"lease_token\": \"" + run.leaseToken() + "\", \"result\": \"done\"}");
        assertThat(reported.statusCode()).as(reported.body()).isEqualTo(200);
        JsonNode task = task(id);
        assertThat(task.path("state").asText()).isEqualTo("succeeded");
        assertThat(task.path("attempts").asInt()).as("never rescued").isEqualTo(1);
    }

    @Test
    void aReportedErrorFailsTheAttemptAndTheRetryGetsANewToken() throws Exception {
        String id =
                enqueue(
                        "{\"agent\": \"later\", \"retry\": {\"base_seconds\": 0, \"max_seconds\": 0}}");
        AsyncFunctionStandIn.Accepted first = function.nextRun();
        HttpResponse<String> failed =
                report(
                        first.completeUrl(),
                        reporterKey,
                        "{\"lease_token\": \""
                                + first.leaseToken()
                                + "\", \"error\": {\"code\": \"model_refused\", \"message\": \"the model said no\"}}");
        assertThat(failed.statusCode()).as(failed.body()).isEqualTo(200);
        assertThat(json.readTree(failed.body()).path("state").asText())
                .as("one attempt left")
                .isEqualTo("queued");

        AsyncFunctionStandIn.Accepted second = function.nextRun();
        assertThat(second.attempt()).isEqualTo("2");
        assertThat(second.leaseToken()).isNotEqualTo(first.leaseToken());
        assertThat(
                        report(
                                        second.completeUrl(),
                                        reporterKey,
                                        "{\"lease_token\": \""
                                                + first.leaseToken()
                                                + "\", \"result\": 1}")
                                .statusCode())
                .as("the first attempt's token")
                .isEqualTo(409);
        HttpResponse<String> last =
                report(
                        second.completeUrl(),
                        reporterKey,
                        "{\"lease_token\": \""
                                + second.leaseToken()
                                + "\", \"error\": {\"message\": \"still no\"}}");
        JsonNode task = json.readTree(last.body());
        assertThat(task.path("state").asText()).isEqualTo("failed");
        assertThat(task.path("error").path("code").asText()).isEqualTo("agent_error");
        assertThat(task.path("error").path("message").asText()).isEqualTo("still no");
    }

    @Test
    void withoutAReportTheAttemptTimesOutAndALateReportChangesNothing() throws Exception {
        String id = enqueue("{\"agent\": \"later\", \"timeout_seconds\": 2, \"max_attempts\": 1}");
        AsyncFunctionStandIn.Accepted run = function.nextRun();
        JsonNode task = awaitState(id, "failed");
        assertThat(task.path("error").path("code").asText()).isEqualTo("timeout");
        assertThat(task.path("error").path("message").asText()).contains("did not report");

        HttpResponse<String> late =
                report(
                        run.completeUrl(),
                        reporterKey,
                        "{\"lease_token\": \""
                                + run.leaseToken()
                                + "\", \"result\": {\"too\": \"late\"}}");
        assertThat(late.statusCode()).isEqualTo(409);
        assertThat(late.body()).contains("failed");
        assertThat(task(id).path("state").asText()).isEqualTo("failed");
        assertThat(task(id).path("result").isNull()).isTrue();
    }

    @Test
    void badReportsAreRefusedNamingTheFieldAndChangeNothing() throws Exception {
        String id = enqueue("{\"agent\": \"later\"}");
        AsyncFunctionStandIn.Accepted run = function.nextRun();
        String token = run.leaseToken();
        Map<String, String> bad =
                Map.of(
                        "{\"result\": 1}",
                        "lease_token",
                        "{\"lease_token\": \"nope\", \"result\": 1}",
                        "lease_token",
                        "{\"lease_token\": \"" + token + "\"}",
                        "result",
                        "{\"lease_token\": \""
                                + token
                                + "\", \"result\": 1, \"error\": {\"message\": \"x\"}}",
                        "error",
                        "{\"lease_token\": \""
                                + token
                                + "\", \"error\": {\"code\": \"Bad Code\", \"message\": \"x\"}}",
                        "error.code",
                        "{\"lease_token\": \"" + token + "\", \"error\": {}}",
                        "error.message",
                        "{\"lease_token\": \"" + token + "\", \"result\": 1, \"extra\": true}",
                        "extra");
        for (var entry : bad.entrySet()) {
            HttpResponse<String> refused = report(run.completeUrl(), reporterKey, entry.getKey());
            assertThat(refused.statusCode()).as(entry.getKey()).isEqualTo(422);
            assertThat(json.readTree(refused.body()).path("errors"))
                    .as(entry.getKey())
                    .extracting(e -> e.path("field").asText())
                    .contains(entry.getValue());
        }
        assertThat(report(run.completeUrl(), reporterKey, "not json").statusCode()).isEqualTo(400);
        String reader =
                new ApiKeyStore(pulse.jdbi, new SecureRandom())
                        .create("reader", EnumSet.of(Scope.TASKS_READ));
        assertThat(
                        report(
                                        run.completeUrl(),
                                        reader,
                                        "{\"lease_token\": \"" + token + "\", \"result\": 1}")
                                .statusCode())
                .as("a key without tasks:complete")
                .isEqualTo(403);
        assertThat(
                        report(
                                        pulse.url("/v1/tasks/" + UUID.randomUUID() + "/complete"),
                                        reporterKey,
                                        "{\"lease_token\": \"" + token + "\", \"result\": 1}")
                                .statusCode())
                .isEqualTo(404);
        assertThat(task(id).path("state").asText()).as("nothing recorded").isEqualTo("running");

        assertThat(
                        report(
                                        run.completeUrl(),
                                        reporterKey,
                                        "{\"lease_token\": \"" + token + "\", \"result\": 1}")
                                .statusCode())
                .isEqualTo(200);
    }

    private static String enqueue(String body) throws Exception {
        HttpResponse<String> created = pulse.post("/v1/tasks", body);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        return json.readTree(created.body()).path("id").asText();
    }

    private static JsonNode task(String id) throws Exception {
        return json.readTree(pulse.get("/v1/tasks/" + id).body());
    }

    private static HttpResponse<String> report(String url, String key, String body) {
        return pulse.send(
                HttpRequest.newBuilder(URI.create(url))
                        .header("Authorization", "Bearer " + key)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build());
    }

    /** The attempt's lease expiry by the database; fails if the task is no longer running. */
    private static Instant leaseExpiry(String id) {
        OffsetDateTime expiry =
                pulse.jdbi.withHandle(
                        h ->
                                h.createQuery(
                                                "SELECT lease_expires_at FROM tasks WHERE id = CAST(:id AS uuid) AND state = 'running'")
                                        .bind("id", id)
                                        .mapTo(OffsetDateTime.class)
                                        .findOne()
                                        .orElseThrow(
                                                () ->
                                                        new AssertionError(
                                                                "task "
                                                                        + id
                                                                        + " is no longer running")));
        return expiry.toInstant();
    }

    private static JsonNode awaitState(String id, String state) throws Exception {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        JsonNode task = null;
        while (System.nanoTime() < deadline) {
            task = task(id);
            if (task.path("state").asText().equals(state)) {
                return task;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("task never became " + state + ": " + task);
    }

    /** The worker lets go of the attempt once it sees the report (its slot is free again). */
    private static void awaitFreeSlot(String id) throws Exception {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (System.nanoTime() < deadline) {
            Long running =
                    pulse.jdbi.withHandle(
                            h ->
                                    h.createQuery("SELECT running FROM nodes")
                                            .mapTo(Long.class)
                                            .one());
            if (running == 0) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError(
                "the worker still holds the attempt of " + id + " after its report");
    }
}
