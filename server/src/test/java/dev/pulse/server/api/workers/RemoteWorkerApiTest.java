package dev.pulse.server.api.workers;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.workers.json.JsonMapper;
import dev.pulse.workers.keys.ApiKeyStore;
import dev.pulse.workers.keys.Scope;
import dev.pulse.workers.testing.CallbackReceiver;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.EnumSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Remote workers over HTTP against a real node: claim (a long poll), heartbeat and report, fenced
 * by the lease token, with the scopes they need and the input they refuse. Agents of executor
 * remote are never run by the node's own worker.
 */
class RemoteWorkerApiTest {

    private static final ObjectMapper json = JsonMapper.create();
    private static final Duration PATIENCE = Duration.ofSeconds(60);
    private static TestNode pulse;
    private static CallbackReceiver callbacks;
    private static String workKey;
    private static String completeKey;
    private static String readKey;
    private static final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() {
        pulse = new TestNode();
        callbacks = new CallbackReceiver();
        ApiKeyStore keys = new ApiKeyStore(pulse.jdbi, new SecureRandom());
        workKey = keys.create("python-workers", EnumSet.of(Scope.TASKS_WORK));
        completeKey = keys.create("async-functions", EnumSet.of(Scope.TASKS_COMPLETE));
        readKey = keys.create("reader", EnumSet.of(Scope.TASKS_READ));
        putRemoteAgent("remote-echo", "{\"lease\": \"30s\"}", "timeout: 60s");
        putRemoteAgent("remote-short", "{\"lease\": \"1s\"}", "max_attempts: 3");
        putRemoteAgent("remote-slow", "{\"lease\": \"30s\"}", "timeout: 1s");
        putRemoteAgent("remote-cancel", "{}", "max_attempts: 1");
        putRemoteAgent("remote-idle", "{}", "max_attempts: 1");
    }

    @AfterAll
    static void stop() {
        try {
            pulse.close();
        } finally {
            callbacks.close();
        }
    }

    /** {@code extra} is one more spec field, as "name: json-value". */
    private static void putRemoteAgent(String name, String remote, String extra) {
        String[] field = extra.split(": ", 2);
        String value = field[1].matches("\\d+") ? field[1] : "\"" + field[1] + "\"";
        String body =
                """
                {"apiVersion": "pulse/v1", "kind": "Agent", "metadata": {"name": "%s"},
                 "spec": {"executor": "remote", "remote": %s, "%s": %s}}
                """
                        .formatted(name, remote, field[0], value);
        HttpResponse<String> put =
                pulse.send(
                        pulse.request("/v1/agents/" + name)
                                .PUT(HttpRequest.BodyPublishers.ofString(body))
                                .build());
        assertThat(put.statusCode()).as(put.body()).isIn(200, 201);
    }

    @Test
    void aClaimedTaskIsHeartbeatenAndReportedOnceWithItsCallback() throws Exception {
        String id =
                queue(
                        "{\"agent\": \"remote-echo\", \"input\": {\"n\": 1}, \"metadata\": {\"m\": 2},"
                                + " \"callback_url\": \"%s\"}".formatted(callbacks.url("/remote")));
        // The node's own worker runs a task queued after it, and leaves the remote one alone.
        String echo = queue("{\"agent\": \"echo\"}");
        awaitState(echo, "succeeded");
        assertThat(task(id).path("state").asText()).isEqualTo("queued");

        JsonNode claimed = claim("w-1", "[\"remote-echo\"]", 5, 10);
        assertThat(claimed.path("tasks")).hasSize(1);
        JsonNode t = claimed.path("tasks").get(0);
        assertThat(t.path("id").asText()).isEqualTo(id);
        assertThat(t.path("agent").asText()).isEqualTo("remote-echo");
        assertThat(t.path("input").path("n").asInt()).isEqualTo(1);
        assertThat(t.path("metadata").path("m").asInt()).isEqualTo(2);
        assertThat(t.path("attempt").asInt()).isEqualTo(1);
        assertThat(t.path("timeout_seconds").asInt()).isEqualTo(60);
        String token = t.path("lease_token").asText();

        HttpResponse<String> beat = heartbeat(id, token, workKey);
        assertThat(beat.statusCode()).as(beat.body()).isEqualTo(200);
        JsonNode lease = json.readTree(beat.body());
        assertThat(lease.path("cancel_requested").asBoolean()).isFalse();
        assertThat(lease.path("lease_expires_at").asText()).isNotEmpty();
        assertThat(task(id).path("state").asText()).isEqualTo("running");

        HttpResponse<String> done = complete(id, token, "{\"echo\": 1}", workKey);
        assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
        assertThat(json.readTree(done.body()).path("state").asText()).isEqualTo("succeeded");
        assertThat(task(id).path("result").path("echo").asInt()).isEqualTo(1);

        assertThat(complete(id, token, "{\"again\": true}", workKey).statusCode())
                .as("a second report")
                .isEqualTo(409);
        assertThat(heartbeat(id, token, workKey).statusCode())
                .as("a heartbeat after the end")
                .isEqualTo(409);
        assertThat(task(id).path("result").path("echo").asInt()).isEqualTo(1);

        CallbackReceiver.Received callback = callbacks.next(PATIENCE);
        assertThat(json.readTree(callback.body()).path("data").path("id").asText()).isEqualTo(id);
        assertThat(json.readTree(pulse.get("/v1/tasks/" + id + "/deliveries").body()).path("items"))
                .as("one callback")
                .hasSize(1);

        JsonNode attempts = json.readTree(pulse.get("/v1/tasks/" + id + "/attempts").body());
        assertThat(attempts.path("items")).hasSize(1);
        assertThat(attempts.path("items").get(0).path("outcome").asText()).isEqualTo("succeeded");
        assertThat(attempts.path("items").get(0).path("node").asText()).isEqualTo("remote:w-1");
        assertThat(pulse.count("SELECT count(*) FROM remote_workers WHERE id = 'w-1'"))
                .isEqualTo(1);
    }

    @Test
    void aLongPollAnswersWhenATaskIsQueuedAndEmptyWhenTheTimeIsUp() throws Exception {
        assertThat(claim("w-idle", "[\"remote-idle\"]", 1, 1).path("tasks")).isEmpty();

        CompletableFuture<JsonNode> waiting =
                CompletableFuture.supplyAsync(
                        () -> {
                            try {
                                return claim("w-poll", "[\"remote-idle\"]", 1, 50);
                            } catch (Exception e) {
                                throw new IllegalStateException(e);
                            }
                        });
        // Queued once the claim is waiting (it marks its worker seen before it waits).
        awaitTrue(
                () -> pulse.count("SELECT count(*) FROM remote_workers WHERE id = 'w-poll'") == 1);
        String id = queue("{\"agent\": \"remote-idle\"}");
        JsonNode claimed = waiting.get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
        assertThat(claimed.path("tasks")).hasSize(1);
        assertThat(claimed.path("tasks").get(0).path("id").asText()).isEqualTo(id);
        complete(id, claimed.path("tasks").get(0).path("lease_token").asText(), "{}", workKey);
    }

    @Test
    void aCancelledTaskIsSeenByTheNextHeartbeatAndItsReportRefused() throws Exception {
        String id = queue("{\"agent\": \"remote-cancel\"}");
        JsonNode t = claim("w-cancel", "[\"remote-cancel\"]", 1, 10).path("tasks").get(0);
        String token = t.path("lease_token").asText();
        HttpResponse<String> cancel = pulse.post("/v1/tasks/" + id + "/cancel", "");
        assertThat(cancel.statusCode()).as(cancel.body()).isIn(200, 202);

        HttpResponse<String> beat = heartbeat(id, token, workKey);
        assertThat(beat.statusCode()).as(beat.body()).isEqualTo(200);
        assertThat(json.readTree(beat.body()).path("cancel_requested").asBoolean()).isTrue();
        assertThat(task(id).path("state").asText()).isEqualTo("cancelled");
        assertThat(complete(id, token, "{}", workKey).statusCode()).isEqualTo(409);
        assertThat(task(id).path("state").asText()).isEqualTo("cancelled");
    }

    @Test
    void aWorkerThatStopsHeartbeatingLosesTheTaskToAnotherAndItsLateReportChangesNothing()
            throws Exception {
        String id = queue("{\"agent\": \"remote-short\"}");
        JsonNode first = claim("w-dies", "[\"remote-short\"]", 1, 10).path("tasks").get(0);
        String lostToken = first.path("lease_token").asText();
        // No heartbeat: after its 1 s lease the rescuer puts the task back, and another worker
        // gets it (the long poll answers once it is due again).
        JsonNode second = claim("w-lives", "[\"remote-short\"]", 1, 50).path("tasks").get(0);
        assertThat(second.path("id").asText()).isEqualTo(id);
        assertThat(second.path("attempt").asInt()).isEqualTo(2);
        assertThat(task(id).path("error").path("message").asText())
                .as("why the first attempt was abandoned")
                .contains("remote worker w-dies stopped heartbeating");

        HttpResponse<String> late = complete(id, lostToken, "{\"late\": true}", workKey);
        assertThat(late.statusCode()).as(late.body()).isEqualTo(409);
        assertThat(heartbeat(id, lostToken, workKey).statusCode()).isEqualTo(409);
        assertThat(task(id).path("state").asText()).isEqualTo("running");

        HttpResponse<String> done =
                complete(id, second.path("lease_token").asText(), "{\"ok\": 2}", workKey);
        assertThat(done.statusCode()).as(done.body()).isEqualTo(200);
        assertThat(task(id).path("result").path("ok").asInt()).isEqualTo(2);
        JsonNode attempts =
                json.readTree(pulse.get("/v1/tasks/" + id + "/attempts").body()).path("items");
        assertThat(attempts.get(0).path("outcome").asText())
                .as("the lost attempt, which reported late")
                .isEqualTo("stale");
        assertThat(attempts.get(0).path("node").asText()).isEqualTo("remote:w-dies");
        assertThat(attempts.get(1).path("outcome").asText()).isEqualTo("succeeded");
    }

    @Test
    void anAttemptPastItsTimeoutIsRecordedAsATimeoutAtItsNextHeartbeat() throws Exception {
        String id = queue("{\"agent\": \"remote-slow\", \"max_attempts\": 1}");
        JsonNode t = claim("w-slow", "[\"remote-slow\"]", 1, 10).path("tasks").get(0);
        String token = t.path("lease_token").asText();
        assertThat(t.path("timeout_seconds").asInt()).isEqualTo(1);
        awaitTrue(() -> heartbeat(id, token, workKey).statusCode() == 409);
        JsonNode failed = task(id);
        assertThat(failed.path("state").asText()).isEqualTo("failed");
        assertThat(failed.path("error").path("code").asText()).isEqualTo("timeout");
        assertThat(complete(id, token, "{}", workKey).statusCode()).isEqualTo(409);
    }

    @Test
    void eachRouteNeedsItsScope() throws Exception {
        String body = "{\"worker\": \"w\", \"agents\": [\"remote-idle\"]}";
        assertThat(send("/v1/workers/claim", body, readKey).statusCode()).isEqualTo(403);
        assertThat(send("/v1/workers/claim", body, completeKey).statusCode()).isEqualTo(403);
        assertThat(send("/v1/workers/claim", body, workKey).statusCode()).isEqualTo(200);
        assertThat(send("/v1/tasks", "{\"agent\": \"echo\"}", workKey).statusCode())
                .as("tasks:work does not queue")
                .isEqualTo(403);

        String id = queue("{\"agent\": \"remote-idle\"}");
        JsonNode t = claim("w-scopes", "[\"remote-idle\"]", 1, 10).path("tasks").get(0);
        String token = t.path("lease_token").asText();
        assertThat(heartbeat(id, token, completeKey).statusCode()).isEqualTo(403);
        HttpResponse<String> wrongScope = complete(id, token, "{}", completeKey);
        assertThat(wrongScope.statusCode()).as(wrongScope.body()).isEqualTo(403);
        assertThat(wrongScope.body()).contains("tasks:work");
        assertThat(task(id).path("state").asText()).isEqualTo("running");
        assertThat(complete(id, token, "{}", workKey).statusCode()).isEqualTo(200);
    }

    @Test
    void badClaimsAndHeartbeatsGet422NamingTheField() throws Exception {
        assertInvalid("{\"worker\": \"w\", \"agents\": [\"echo\"]}", "agents", "executor local");
        assertInvalid("{\"worker\": \"w\", \"agents\": [\"nope\"]}", "agents", "unknown agent");
        assertInvalid("{\"worker\": \"w\", \"agents\": []}", "agents", "list");
        assertInvalid("{\"agents\": [\"remote-idle\"]}", "worker", "required");
        assertInvalid("{\"worker\": \"a b\", \"agents\": [\"remote-idle\"]}", "worker", "letters");
        assertInvalid(
                "{\"worker\": \"w\", \"agents\": [\"remote-idle\"], \"wait_seconds\": 61}",
                "wait_seconds",
                "60");
        assertInvalid(
                "{\"worker\": \"w\", \"agents\": [\"remote-idle\"], \"limit\": 0}", "limit", "1");
        assertInvalid(
                "{\"worker\": \"w\", \"agents\": [\"remote-idle\"], \"extra\": 1}",
                "extra",
                "unknown");

        String id = queue("{\"agent\": \"remote-idle\", \"delay_seconds\": 3600}");
        HttpResponse<String> beat = send("/v1/tasks/" + id + "/heartbeat", "{}", workKey);
        assertThat(beat.statusCode()).isEqualTo(422);
        assertThat(json.readTree(beat.body()).path("errors").get(0).path("field").asText())
                .isEqualTo("lease_token");
        assertThat(heartbeat(id, "00000000-0000-0000-0000-000000000000", workKey).statusCode())
                .as("a token that never held the task")
                .isEqualTo(409);
        assertThat(
                        heartbeat(
                                        "01900000-0000-7000-8000-000000000000",
                                        "00000000-0000-0000-0000-000000000000",
                                        workKey)
                                .statusCode())
                .as("no such task")
                .isEqualTo(404);
    }

    @Test
    void aRemoteAgentDefinitionIsValidated() throws Exception {
        String bad =
                """
                {"apiVersion": "pulse/v1", "kind": "Agent", "metadata": {"name": "bad-remote"},
                 "spec": {"executor": "remote", "remote": {"lease": "forever", "other": 1}}}
                """;
        HttpResponse<String> put =
                pulse.send(
                        pulse.request("/v1/agents/bad-remote")
                                .PUT(HttpRequest.BodyPublishers.ofString(bad))
                                .build());
        assertThat(put.statusCode()).isEqualTo(422);
        assertThat(put.body()).contains("spec.remote.lease").contains("spec.remote.other");
        JsonNode agent = json.readTree(pulse.get("/v1/agents/remote-echo").body());
        assertThat(agent.path("executor").asText()).isEqualTo("remote");
        assertThat(agent.path("available").asBoolean()).isTrue();
    }

    private static void assertInvalid(String body, String field, String says) throws Exception {
        HttpResponse<String> r = send("/v1/workers/claim", body, workKey);
        assertThat(r.statusCode()).as(body + " → " + r.body()).isEqualTo(422);
        JsonNode error = json.readTree(r.body()).path("errors").get(0);
        assertThat(error.path("field").asText()).as(r.body()).isEqualTo(field);
        assertThat(error.path("message").asText()).as(r.body()).contains(says);
    }

    private static JsonNode claim(String worker, String agents, int limit, double waitSeconds)
            throws Exception {
        HttpResponse<String> r =
                send(
                        "/v1/workers/claim",
                        "{\"worker\": \"%s\", \"agents\": %s, \"limit\": %d, \"wait_seconds\": %s}"
                                .formatted(worker, agents, limit, waitSeconds),
                        workKey);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return json.readTree(r.body());
    }

    private static HttpResponse<String> heartbeat(String id, String token, String key)
            throws Exception {
        return send("/v1/tasks/" + id + "/heartbeat", "{\"lease_token\": \"" + token + "\"}", key);
    }

    private static HttpResponse<String> complete(String id, String token, String result, String key)
            throws Exception {
        return send(
                "/v1/tasks/" + id + "/complete",
                "{\"lease_token\": \"" + token + "\", \"result\": " + result + "}",
                key);
    }

    private static HttpResponse<String> send(String path, String body, String key)
            throws Exception {
        HttpResponse<String> r =
                http.send(
                        HttpRequest.newBuilder(URI.create(pulse.url(path)))
                                .header("Content-Type", "application/json")
                                .header("Authorization", "Bearer " + key)
                                .timeout(Duration.ofSeconds(90))
                                .POST(HttpRequest.BodyPublishers.ofString(body))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        pulse.responses.assertAllMatched();
        return r;
    }

    private static String queue(String body) throws Exception {
        HttpResponse<String> r = pulse.post("/v1/tasks", body);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return json.readTree(r.body()).path("id").asText();
    }

    private static JsonNode task(String id) throws Exception {
        return json.readTree(pulse.get("/v1/tasks/" + id).body());
    }

    private static void awaitState(String id, String state) throws Exception {
        awaitTrue(() -> task(id).path("state").asText().equals(state));
    }

    private interface Check {
        boolean holds() throws Exception;
    }

    private static void awaitTrue(Check check) throws Exception {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (!check.holds()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not true within " + PATIENCE);
            }
            Thread.sleep(50);
        }
    }
}
