package dev.pulse.workers.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.executors.ExecutionError;
import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.ExecutionResult;
import dev.pulse.executors.Executor;
import dev.pulse.executors.ExecutorFactory;
import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.executors.local.JavaAgents;
import dev.pulse.executors.local.LocalExecutor;
import dev.pulse.workers.metrics.QueueMetrics;
import dev.pulse.workers.queue.TaskCompleter.Completion;
import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskState;
import dev.pulse.workers.testing.QueueKit;
import dev.pulse.workers.timing.WakeUp;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Invariants 3 (fencing) and 5 (outbox) when completions are recorded in batches, on a real
 * PostgreSQL.
 */
class BatchCompletionTest {

    private static final String CALLBACK = "http://127.0.0.1:9/hook";
    @RegisterExtension final QueueKit kit = new QueueKit();

    @Test
    void aBatchMixingCurrentAndSupersededLeasesChangesOnlyTheCurrentOnesAndRecordsTheOthersStale() {
        for (int i = 0; i < 6; i++) {
            kit.insert(kit.withCallback("echo", CALLBACK, 3));
        }
        List<ClaimedTask> claimed = kit.claimer("node-a").claim(6);
        assertThat(claimed).hasSize(6);
        // Tasks 1 and 3 were taken over while node-a still ran them: their leases expired, the
        // rescuer wrote their attempts off as lost and node-b claimed them again.
        takeOver(List.of(claimed.get(1).id(), claimed.get(3).id()));

        List<Completion> batch =
                List.of(
                        kit.completer.succeeded(claimed.get(0), kit.jsonOf("{\"n\": 0}"), "log 0"),
                        kit.completer.succeeded(claimed.get(1), kit.jsonOf("{\"n\": 1}"), "log 1"),
                        kit.completer.failed(
                                claimed.get(2), new ExecutionError("agent_error", "boom"), "log 2"),
                        kit.completer.failed(
                                claimed.get(3),
                                new ExecutionError("agent_error", "late boom"),
                                "log 3"),
                        kit.completer.cancellation(claimed.get(4), "log 4"),
                        kit.completer.released(claimed.get(5)));
        List<Optional<Task>> recorded = kit.completer.recordAll(batch);

        assertThat(recorded)
                .extracting(r -> r.map(Task::state).orElse(null))
                .containsExactly(
                        TaskState.SUCCEEDED,
                        null,
                        TaskState.QUEUED,
                        null,
                        TaskState.CANCELLED,
                        TaskState.QUEUED);
        assertThat(state(claimed.get(1).id())).isEqualTo(TaskState.RUNNING);
        assertThat(state(claimed.get(3).id())).isEqualTo(TaskState.RUNNING);
        assertThat(kit.tasks.find(claimed.get(1).id()).orElseThrow().result()).isNull();
        assertThat(kit.tasks.find(claimed.get(3).id()).orElseThrow().error().path("code").asText())
                .as("the rescue's error, not the late failure's")
                .isEqualTo("lease_expired");
        assertThat(kit.tasks.find(claimed.get(0).id()).orElseThrow().result())
                .isEqualTo(kit.jsonOf("{\"n\": 0}"));

        // The failure goes back to queued after the task's own backoff (retry_base_ms = 1000 ms,
        // jittered).
        Task retried = recorded.get(2).orElseThrow();
        assertThat(retried.error().path("message").asText()).isEqualTo("boom");
        assertThat(retried.finishedAt()).isNull();
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM tasks WHERE id = '"
                                        + retried.id()
                                        + "' AND run_at >= updated_at AND run_at <= updated_at + interval '1 second'"))
                .isEqualTo(1);

        assertThat(outcomes(claimed))
                .containsExactly("succeeded", "stale", "failed", "stale", "cancelled", "released");
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM ended_attempts WHERE outcome = 'stale' AND logs IN ('log 1', 'log 3')"))
                .isEqualTo(2);
        // Only the terminal tasks get a callback, in the same transaction: the success and the
        // cancellation.
        assertThat(deliveries())
                .containsExactlyInAnyOrder(
                        claimed.get(0).id() + " task.succeeded",
                        claimed.get(4).id() + " task.cancelled");
    }

    @Test
    void theSameAttemptTwiceInOneBatchIsRecordedOnce() {
        kit.insert(kit.withCallback("echo", CALLBACK, 3));
        ClaimedTask claimed = kit.claimer("node-a").claim(1).get(0);

        List<Optional<Task>> recorded =
                kit.completer.recordAll(
                        List.of(
                                kit.completer.succeeded(claimed, kit.jsonOf("\"first\""), null),
                                kit.completer.succeeded(claimed, kit.jsonOf("\"second\""), null)));

        assertThat(recorded.get(0)).isPresent();
        assertThat(recorded.get(1)).isEmpty();
        assertThat(kit.tasks.find(claimed.id()).orElseThrow().result())
                .isEqualTo(kit.jsonOf("\"first\""));
        assertThat(outcomes(List.of(claimed))).containsExactly("succeeded");
        assertThat(kit.count("SELECT count(*) FROM callback_deliveries")).isEqualTo(1);
    }

    @Test
    void callbacksForEveryTerminalTaskAreWrittenInTheFlush() throws Exception {
        int n = 150;
        for (int i = 0; i < n; i++) {
            kit.insert(kit.withCallback("echo", CALLBACK, 1));
        }
        List<ClaimedTask> claimed = kit.claimer("node-a").claim(n);
        assertThat(claimed).hasSize(n);
        BatchCompleter completions =
                new BatchCompleter(kit.completer, BatchCompleter.Settings.DEFAULT, () -> {});
        completions.start();
        for (int i = 0; i < n; i++) {
            ClaimedTask task = claimed.get(i);
            completions.submit(
                    i % 3 == 0
                            ? kit.completer.failed(
                                    task,
                                    new ExecutionError("agent_error", "no attempts left"),
                                    null)
                            : kit.completer.succeeded(
                                    task, kit.jsonOf("{\"i\": " + i + "}"), null));
        }
        completions.close();

        assertThat(kit.count("SELECT count(*) FROM tasks WHERE state = 'succeeded'"))
                .isEqualTo(100);
        assertThat(kit.count("SELECT count(*) FROM tasks WHERE state = 'failed'")).isEqualTo(50);
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM callback_deliveries d JOIN tasks t ON t.id = d.task_id"
                                        + " WHERE d.event_type = 'task.' || t.state AND d.state = 'pending'"
                                        + " AND d.body::jsonb -> 'data' ->> 'id' = t.id::text"))
                .isEqualTo(n);
        assertThat(kit.count("SELECT count(DISTINCT task_id) FROM callback_deliveries"))
                .isEqualTo(n);
        assertThat(kit.count("SELECT count(*) FROM ended_attempts WHERE finished_at IS NULL"))
                .isZero();
    }

    @Test
    void closingTheCompleterWithCompletionsPendingRecordsThemAll() throws Exception {
        int n = 250;
        for (int i = 0; i < n; i++) {
            kit.insert(kit.newTask("echo", 0));
        }
        List<ClaimedTask> claimed = kit.claimer("node-a").claim(n);
        // Never started: nothing is flushed until close, which must record every queued completion.
        BatchCompleter completions =
                new BatchCompleter(
                        kit.completer,
                        new BatchCompleter.Settings(n, 100, Duration.ofMillis(50)),
                        () -> {});
        for (ClaimedTask task : claimed) {
            completions.submit(kit.completer.succeeded(task, kit.jsonOf("true"), null));
        }
        assertThat(completions.pending()).isEqualTo(n);
        assertThat(completions.room()).isZero();

        completions.close();

        assertThat(completions.pending()).isZero();
        assertThat(kit.count("SELECT count(*) FROM tasks WHERE state = 'succeeded'")).isEqualTo(n);
        assertThat(kit.count("SELECT count(*) FROM ended_attempts WHERE outcome = 'succeeded'"))
                .isEqualTo(n);
    }

    @Test
    void aResultTheDatabaseRefusesFailsOnlyItsOwnTask() throws Exception {
        for (int i = 0; i < 3; i++) {
            kit.insert(kit.newTask("echo", 0));
        }
        List<ClaimedTask> claimed = kit.claimer("node-a").claim(3);
        AtomicInteger flushes = new AtomicInteger();
        BatchCompleter completions =
                new BatchCompleter(
                        kit.completer,
                        new BatchCompleter.Settings(10, 10, Duration.ofMillis(50)),
                        flushes::incrementAndGet);
        completions.submit(kit.completer.succeeded(claimed.get(0), kit.jsonOf("\"fine\""), null));
        completions.submit(
                kit.completer.succeeded(claimed.get(1), kit.jsonOf("\"nul \\u0000 char\""), null));
        completions.submit(
                kit.completer.succeeded(claimed.get(2), kit.jsonOf("\"also fine\""), null));
        completions.close();

        assertThat(state(claimed.get(0).id())).isEqualTo(TaskState.SUCCEEDED);
        assertThat(state(claimed.get(2).id())).isEqualTo(TaskState.SUCCEEDED);
        Task refused = kit.tasks.find(claimed.get(1).id()).orElseThrow();
        assertThat(refused.state()).isEqualTo(TaskState.QUEUED);
        assertThat(refused.error().path("code").asText()).isEqualTo(ExecutionError.INVALID_OUTPUT);
        assertThat(flushes.get()).isPositive();
    }

    @Test
    void closingTheWorkerRecordsEveryAttemptThatFinishesWhileItStops() throws Exception {
        int n = 12;
        for (int i = 0; i < n; i++) {
            kit.insert(kit.withCallback("echo", CALLBACK, 3));
        }
        CountDownLatch started = new CountDownLatch(n);
        CountDownLatch release = new CountDownLatch(1);
        Executor gated =
                new Executor() {
                    @Override
                    public String kind() {
                        return LocalExecutor.KIND;
                    }

                    @Override
                    public ExecutionResult execute(ExecutionRequest request)
                            throws InterruptedException {
                        started.countDown();
                        release.await();
                        return ExecutionResult.success(kit.jsonOf("{\"done\": true}"), null);
                    }
                };
        WakeUp wakeUp = new WakeUp();
        RunningAttempts running = new RunningAttempts();
        // A long linger: without the flush on close, these completions would still be queued when
        // close returns.
        BatchCompleter completions =
                new BatchCompleter(
                        kit.completer,
                        new BatchCompleter.Settings(100, 100, Duration.ofMillis(50)),
                        wakeUp::signal);
        TaskRunner runner =
                new TaskRunner(
                        new AgentRegistry(JavaAgents.discover().definitions()),
                        new ExecutorFactory(List.of(gated)),
                        completions,
                        QueueMetrics.discarded());
        Worker worker =
                new Worker(
                        kit.claimer("node-a"),
                        runner,
                        completions,
                        running,
                        wakeUp,
                        new Worker.Settings(n, Duration.ofMillis(100), Duration.ofMinutes(2)));
        worker.start();
        assertThat(started.await(2, TimeUnit.MINUTES)).isTrue();

        Thread closing = new Thread(worker::close);
        closing.start();
        release.countDown(); // the attempts end during the shutdown grace period
        closing.join();

        assertThat(kit.count("SELECT count(*) FROM tasks WHERE state = 'succeeded'")).isEqualTo(n);
        assertThat(kit.count("SELECT count(*) FROM ended_attempts WHERE outcome = 'succeeded'"))
                .isEqualTo(n);
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM callback_deliveries WHERE event_type = 'task.succeeded'"))
                .isEqualTo(n);
        assertThat(completions.pending()).isZero();
    }

    private void takeOver(List<UUID> ids) {
        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.createUpdate(
                                                "UPDATE tasks SET lease_expires_at = now() - interval '1 second' WHERE id = ANY(:ids)")
                                        .bind("ids", ids.toArray(UUID[]::new))
                                        .execute());
        Rescuer rescuer =
                new Rescuer(
                        kit.database.jdbi(),
                        kit.json,
                        kit.outbox,
                        Clock.systemUTC(),
                        Duration.ofSeconds(30));
        assertThat(rescuer.rescueBatch()).isEqualTo(ids.size());
        assertThat(kit.claimer("node-b").claim(10))
                .extracting(ClaimedTask::id)
                .containsExactlyInAnyOrderElementsOf(ids);
    }

    private TaskState state(UUID id) {
        return kit.tasks.find(id).orElseThrow().state();
    }

    /** The outcome recorded for each of these attempts, in the order given. */
    private List<String> outcomes(List<ClaimedTask> attempts) {
        return attempts.stream()
                .map(
                        a ->
                                kit.database
                                        .jdbi()
                                        .withHandle(
                                                h ->
                                                        h.createQuery(
                                                                        "SELECT outcome FROM ended_attempts WHERE task_id = :id AND attempt = :attempt")
                                                                .bind("id", a.id())
                                                                .bind("attempt", a.attempt())
                                                                .mapTo(String.class)
                                                                .one()))
                .toList();
    }

    private List<String> deliveries() {
        return new ArrayList<>(
                kit.database
                        .jdbi()
                        .withHandle(
                                h ->
                                        h.createQuery(
                                                        "SELECT task_id || ' ' || event_type FROM callback_deliveries")
                                                .mapTo(String.class)
                                                .list()));
    }
}
