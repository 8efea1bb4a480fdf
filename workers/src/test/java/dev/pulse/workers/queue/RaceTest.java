package dev.pulse.workers.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.tasks.Enqueued;
import dev.pulse.workers.tasks.NewTask;
import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskState;
import dev.pulse.workers.testing.QueueKit;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Two things racing for one task: each race has exactly one legal outcome, whoever wins. */
class RaceTest {

    private static final String CALLBACK = "http://127.0.0.1:9/hook";
    @RegisterExtension final QueueKit kit = new QueueKit();
    private final ExecutorService pool = Executors.newFixedThreadPool(24);

    @AfterEach
    void tearDown() {
        pool.shutdownNow();
    }

    @RepeatedTest(30)
    void completionVersusRescue() throws Exception {
        Task task = kit.insert(kit.withCallback("echo", CALLBACK, 3));
        ClaimedTask claimed = kit.claimer("node-a").claim(1).get(0);
        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.execute(
                                        "UPDATE tasks SET lease_expires_at = now() - interval '1 second' WHERE id = ?",
                                        task.id()));
        Rescuer rescuer =
                new Rescuer(
                        kit.database.jdbi(),
                        kit.json,
                        kit.outbox,
                        Clock.systemUTC(),
                        Duration.ofSeconds(30));

        List<Object> results =
                race(
                        () -> kit.completer.succeed(claimed, kit.jsonOf("{\"done\": true}"), null),
                        rescuer::rescueBatch);

        boolean completed = ((Optional<?>) results.get(0)).isPresent();
        int rescued = (Integer) results.get(1);
        assertThat(completed)
                .as("exactly one of completion and rescue wins")
                .isNotEqualTo(rescued == 1);
        Task now = kit.tasks.find(task.id()).orElseThrow();
        if (completed) {
            assertThat(now.state()).isEqualTo(TaskState.SUCCEEDED);
            assertThat(attemptOutcome(task)).isEqualTo("succeeded");
            assertThat(kit.count("SELECT count(*) FROM callback_deliveries")).isEqualTo(1);
        } else {
            assertThat(now.state()).isEqualTo(TaskState.QUEUED);
            assertThat(now.result()).isNull();
            // The rescuer wrote the attempt off as lost; its result, refused, came after all.
            assertThat(attemptOutcome(task)).isEqualTo("stale");
            assertThat(kit.count("SELECT count(*) FROM callback_deliveries")).isZero();
        }
    }

    @RepeatedTest(30)
    void cancelVersusCompletion() throws Exception {
        Task task = kit.insert(kit.withCallback("echo", CALLBACK, 3));
        ClaimedTask claimed = kit.claimer("node-a").claim(1).get(0);

        // The worker's side of a cancel: the request lands, the heartbeat stops the run, the
        // worker records it cancelled. Racing it: the same attempt finishing on its own.
        race(
                () -> {
                    kit.tasks.cancel(task.id());
                    return kit.completer.cancelled(claimed, null);
                },
                () -> kit.completer.succeed(claimed, kit.jsonOf("{\"done\": true}"), null));

        Task now = kit.tasks.find(task.id()).orElseThrow();
        assertThat(now.state()).isIn(TaskState.SUCCEEDED, TaskState.CANCELLED);
        assertThat(now.result() != null).isEqualTo(now.state() == TaskState.SUCCEEDED);
        assertThat(kit.count("SELECT count(*) FROM callback_deliveries"))
                .as("one terminal event")
                .isEqualTo(1);
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM callback_deliveries WHERE event_type = 'task."
                                        + now.state().wire()
                                        + "'"))
                .isEqualTo(1);
        assertThat(attemptOutcome(task)).isEqualTo(now.state().wire());
    }

    @Test
    void concurrentEnqueuesWithOneIdempotencyKeyMakeOneTask() throws Exception {
        for (int round = 0; round < 10; round++) {
            String key = "order-" + round;
            NewTask request =
                    NewTask.builder(
                                    "echo",
                                    kit.json.createObjectNode(),
                                    kit.json.createObjectNode())
                            .maxAttempts(3)
                            .timeoutSeconds(60)
                            .retry(1000, 600_000)
                            .idempotencyKey(key)
                            .build();
            List<Callable<Object>> calls = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                calls.add(() -> kit.tasks.enqueue(request));
            }
            List<Object> results = race(calls.toArray(Callable[]::new));

            assertThat(results)
                    .extracting(r -> ((Enqueued) r).task().id())
                    .containsOnly(((Enqueued) results.get(0)).task().id());
            assertThat(results).filteredOn(r -> ((Enqueued) r).created()).hasSize(1);
            assertThat(
                            kit.count(
                                    "SELECT count(*) FROM tasks WHERE idempotency_key = '"
                                            + key
                                            + "'"))
                    .isEqualTo(1);
        }
    }

    private String attemptOutcome(Task task) {
        return kit.database
                .jdbi()
                .withHandle(
                        h ->
                                h.createQuery(
                                                "SELECT outcome FROM ended_attempts WHERE task_id = :id")
                                        .bind("id", task.id())
                                        .mapTo(String.class)
                                        .one());
    }

    /** Starts every call at the same instant and returns their results in order. */
    @SafeVarargs
    private List<Object> race(Callable<? extends Object>... calls) throws Exception {
        CyclicBarrier start = new CyclicBarrier(calls.length);
        List<Future<Object>> futures = new ArrayList<>();
        for (Callable<? extends Object> call : calls) {
            futures.add(
                    pool.submit(
                            () -> {
                                start.await();
                                return call.call();
                            }));
        }
        List<Object> results = new ArrayList<>();
        for (Future<Object> f : futures) {
            results.add(f.get());
        }
        return results;
    }
}
