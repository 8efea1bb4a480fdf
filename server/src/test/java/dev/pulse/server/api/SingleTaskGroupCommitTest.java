package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code POST /v1/tasks} through the group commit, over HTTP: concurrent requests each get their
 * own committed task, idempotency keys hold among requests committed together, and a commit that
 * fails is answered 503 with Retry-After and stores nothing.
 */
class SingleTaskGroupCommitTest {

    private static final ObjectMapper json = new ObjectMapper();
    private static TestNode pulse;

    @BeforeAll
    static void start() {
        pulse = new TestNode();
        // A stand-in for a commit that fails: a deferred constraint trigger refuses, at COMMIT,
        // any transaction that inserts a task marked so.
        pulse.jdbi.useHandle(
                h -> {
                    h.execute(
                            """
                            CREATE FUNCTION refuse_marked() RETURNS trigger LANGUAGE plpgsql AS $$
                            BEGIN
                              IF NEW.input ->> 'refuse_commit' = 'yes' THEN
                                RAISE EXCEPTION 'commit refused for the test';
                              END IF;
                              RETURN NULL;
                            END $$""");
                    h.execute(
                            """
                            CREATE CONSTRAINT TRIGGER refuse_marked AFTER INSERT ON tasks
                              DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_marked()""");
                });
    }

    @AfterAll
    static void stop() {
        pulse.close();
    }

    @Test
    void manyConcurrentRequestsEachGetTheirOwnCommittedTask() throws Exception {
        int requests = 200;
        List<HttpResponse<String>> answers =
                concurrently(
                        requests,
                        i ->
                                pulse.post(
                                        "/v1/tasks",
                                        "{\"agent\": \"echo\", \"input\": {\"many\": " + i + "}}"));
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < requests; i++) {
            assertThat(answers.get(i).statusCode()).isEqualTo(201);
            JsonNode task = json.readTree(answers.get(i).body());
            assertThat(task.path("input").path("many").asInt()).isEqualTo(i);
            String id = task.path("id").asText();
            ids.add(id);
            // Answered 201, so committed: another connection reads it, with this request's input.
            Optional<Integer> stored =
                    pulse.jdbi.withHandle(
                            h ->
                                    h.createQuery(
                                                    "SELECT (input ->> 'many')::int FROM tasks WHERE id = CAST(:id AS uuid)")
                                            .bind("id", id)
                                            .mapTo(Integer.class)
                                            .findOne());
            assertThat(stored).as("task of request %d", i).contains(i);
        }
        assertThat(ids).hasSize(requests);
    }

    @Test
    void concurrentRepeatsOfOneIdempotencyKeyGetOneTaskCreatedOnce() throws Exception {
        int requests = 20;
        List<HttpResponse<String>> answers =
                concurrently(
                        requests,
                        i ->
                                pulse.send(
                                        pulse.request("/v1/tasks")
                                                .header("Idempotency-Key", "group-key-1")
                                                .POST(
                                                        HttpRequest.BodyPublishers.ofString(
                                                                "{\"agent\": \"echo\", \"input\": {\"k\": 1}}"))
                                                .build()));
        Set<String> ids = new HashSet<>();
        int created = 0;
        for (HttpResponse<String> r : answers) {
            assertThat(r.statusCode()).isIn(200, 201);
            created += r.statusCode() == 201 ? 1 : 0;
            ids.add(json.readTree(r.body()).path("id").asText());
        }
        assertThat(created).isEqualTo(1);
        assertThat(ids).hasSize(1);
        assertThat(pulse.count("SELECT count(*) FROM tasks WHERE idempotency_key = 'group-key-1'"))
                .isEqualTo(1);
    }

    @Test
    void aFailedCommitIsAnswered503WithRetryAfterAndStoresNothing() throws Exception {
        HttpResponse<String> refused =
                pulse.post(
                        "/v1/tasks",
                        "{\"agent\": \"echo\", \"input\": {\"refuse_commit\": \"yes\"}}");

        assertThat(refused.statusCode()).isEqualTo(503);
        assertThat(refused.headers().firstValue("Retry-After")).isPresent();
        assertThat(refused.headers().firstValue("Content-Type"))
                .hasValueSatisfying(t -> assertThat(t).startsWith("application/problem+json"));
        assertThat(json.readTree(refused.body()).path("status").asInt()).isEqualTo(503);
        assertThat(
                        pulse.count(
                                "SELECT count(*) FROM tasks WHERE input ->> 'refuse_commit' IS NOT NULL"))
                .isZero();

        HttpResponse<String> next =
                pulse.post("/v1/tasks", "{\"agent\": \"echo\", \"input\": {\"after\": true}}");
        assertThat(next.statusCode()).isEqualTo(201);
    }

    @Test
    void badInputIsRefusedForItsOwnRequestOnly() throws Exception {
        List<HttpResponse<String>> answers =
                concurrently(
                        10,
                        i ->
                                pulse.post(
                                        "/v1/tasks",
                                        i == 4
                                                ? "{\"agent\": \"echo\", \"priority\": \"high\"}"
                                                : "{\"agent\": \"echo\", \"input\": {\"ok\": "
                                                        + i
                                                        + "}}"));
        for (int i = 0; i < answers.size(); i++) {
            assertThat(answers.get(i).statusCode()).isEqualTo(i == 4 ? 422 : 201);
        }
    }

    private static <T> List<T> concurrently(int n, IntFunction<T> call) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(n);
        try {
            List<Future<T>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int at = i;
                futures.add(threads.submit(() -> call.apply(at)));
            }
            List<T> answers = new ArrayList<>();
            for (Future<T> f : futures) {
                answers.add(f.get(2, TimeUnit.MINUTES));
            }
            return answers;
        } finally {
            threads.shutdownNow();
        }
    }
}
