package dev.pulse.server.api.workers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.workers.json.JsonMapper;
import dev.pulse.workers.testing.TestDatabase;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * A measurement, not a test (no assertion on time): how long a waiting {@code POST
 * /v1/workers/claim} takes to answer once a task becomes due, on one node with the default poll
 * interval (500 ms). Two cases: a task queued due now (the claim is woken by the enqueue's signal
 * and NOTIFY), and a task queued with a delay (woken when it becomes due by the queuing node's
 * timer, {@code DueWakeUps}). Off in the normal build, since it asserts nothing and takes a minute
 * or more; run with
 *
 * <pre>mvn -B -q verify -pl server -am -Dtest=LongPollLatencyMeasurement -Dpulse.measure=true \
 *     -Dsurefire.failIfNoSpecifiedTests=false</pre>
 *
 * and read the figures from its output (recorded in docs/api.md, "Remote workers").
 */
@EnabledIfSystemProperty(
        named = "pulse.measure",
        matches = "true",
        disabledReason =
                "a measurement, not a test (it asserts nothing about speed): run it with"
                        + " -Dpulse.measure=true -Dtest=LongPollLatencyMeasurement, as its class comment shows")
class LongPollLatencyMeasurement {

    private static final ObjectMapper json = JsonMapper.create();
    private static final int SAMPLES = 40;

    @Test
    void measure() throws Exception {
        try (TestNode pulse =
                new TestNode(
                        TestDatabase.create(), Map.of("PULSE_WORKER_POLL_INTERVAL", "500ms"))) {
            String agent =
                    """
                    {"apiVersion": "pulse/v1", "kind": "Agent", "metadata": {"name": "measured"},
                     "spec": {"executor": "remote"}}
                    """;
            pulse.send(
                    pulse.request("/v1/agents/measured")
                            .PUT(HttpRequest.BodyPublishers.ofString(agent))
                            .build());
            for (int i = 0; i < 5; i++) { // warm up
                sample(pulse, "{\"agent\": \"measured\"}");
            }
            List<Double> fromSend = new ArrayList<>();
            List<Double> fromCreated = new ArrayList<>();
            for (int i = 0; i < SAMPLES; i++) {
                double[] s = sample(pulse, "{\"agent\": \"measured\"}");
                fromSend.add(s[0]);
                fromCreated.add(s[1]);
            }
            List<Double> fromDue = new ArrayList<>();
            for (int i = 0; i < SAMPLES / 2; i++) {
                fromDue.add(delayedSample(pulse));
            }
            System.out.println(
                    "long poll, task queued due now: from sending POST /v1/tasks to the claim's"
                            + " answer "
                            + summary(fromSend)
                            + "; from its 201 "
                            + summary(fromCreated));
            System.out.println(
                    "long poll, delayed task: from its run_at to the claim's answer "
                            + summary(fromDue));
        }
    }

    /** Milliseconds from sending the enqueue, and from its answer, to the claim's answer. */
    private static double[] sample(TestNode pulse, String task) throws Exception {
        CompletableFuture<Long> claimed = waitingClaim(pulse);
        long sent = System.nanoTime();
        HttpResponse<String> created = pulse.post("/v1/tasks", task);
        long answered = System.nanoTime();
        long got = claimed.get();
        complete(pulse, created);
        return new double[] {(got - sent) / 1e6, (got - answered) / 1e6};
    }

    /** Milliseconds from a delayed task's run_at to the claim's answer. */
    private static double delayedSample(TestNode pulse) throws Exception {
        HttpResponse<String> created =
                pulse.post("/v1/tasks", "{\"agent\": \"measured\", \"delay_seconds\": 1}");
        Instant runAt = Instant.parse(json.readTree(created.body()).path("run_at").asText());
        // A random phase between the claim's polls and the task's due time, as in real use.
        Thread.sleep(ThreadLocalRandom.current().nextLong(0, 500));
        CompletableFuture<Long> claimed = waitingClaim(pulse);
        claimed.get();
        Instant got = Instant.now();
        complete(pulse, created);
        return (got.toEpochMilli() - runAt.toEpochMilli()) * 1.0;
    }

    private static CompletableFuture<Long> waitingClaim(TestNode pulse) throws Exception {
        CompletableFuture<Long> claimed =
                CompletableFuture.supplyAsync(
                        () -> {
                            HttpResponse<String> r =
                                    pulse.post(
                                            "/v1/workers/claim",
                                            "{\"worker\": \"measure\", \"agents\": [\"measured\"],"
                                                    + " \"wait_seconds\": 30}");
                            long at = System.nanoTime();
                            try {
                                if (json.readTree(r.body()).path("tasks").isEmpty()) {
                                    throw new IllegalStateException("empty claim: " + r.body());
                                }
                            } catch (java.io.IOException e) {
                                throw new IllegalStateException(e);
                            }
                            lastClaim = r.body();
                            return at;
                        });
        Thread.sleep(300); // let the claim reach its wait
        return claimed;
    }

    private static volatile String lastClaim;

    private static void complete(TestNode pulse, HttpResponse<String> created) throws Exception {
        JsonNode t = json.readTree(lastClaim).path("tasks").get(0);
        pulse.post(
                "/v1/tasks/" + t.path("id").asText() + "/complete",
                "{\"lease_token\": \"" + t.path("lease_token").asText() + "\", \"result\": {}}");
    }

    private static String summary(List<Double> ms) {
        List<Double> sorted = new ArrayList<>(ms);
        Collections.sort(sorted);
        return "n=%d min %.1f ms, p50 %.1f ms, p90 %.1f ms, max %.1f ms"
                .formatted(
                        sorted.size(),
                        sorted.get(0),
                        sorted.get(sorted.size() / 2),
                        sorted.get((int) (sorted.size() * 0.9)),
                        sorted.get(sorted.size() - 1));
    }
}
