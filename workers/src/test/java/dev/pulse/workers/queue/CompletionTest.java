package dev.pulse.workers.queue;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.executors.ExecutionError;
import dev.pulse.workers.tasks.CancelOutcome;
import dev.pulse.workers.tasks.NewTask;
import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskAttempt;
import dev.pulse.workers.tasks.TaskState;
import dev.pulse.workers.testing.QueueKit;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** docs/architecture.md invariants 3 (fencing) and 5 (outbox), on a real PostgreSQL. */
class CompletionTest {

    private static final String CALLBACK = "http://127.0.0.1:9/hook";
    @RegisterExtension final QueueKit kit = new QueueKit();

    @Test
    void successIsRecordedOnceWithItsCallbackInTheSameTransaction() {
        Task queued = kit.insert(kit.withCallback("echo", CALLBACK, 3));
        ClaimedTask claimed = kit.claimer("node-a").claim(1).get(0);

        Optional<Task> done =
                kit.completer.succeed(claimed, kit.jsonOf("{\"answer\": 42}"), "log line");

        assertThat(done)
                .get()
                .satisfies(
                        t -> {
                            assertThat(t.state()).isEqualTo(TaskState.SUCCEEDED);
                            assertThat(t.result()).isEqualTo(kit.jsonOf("{\"answer\": 42}"));
                            assertThat(t.finishedAt()).isNotNull();
                        });
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM callback_deliveries WHERE task_id = '"
                                        + queued.id()
                                        + "' AND event_type = 'task.succeeded' AND state = 'pending'"))
                .isEqualTo(1);
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM ended_attempts WHERE outcome = 'succeeded' AND logs = 'log line'"))
                .isEqualTo(1);

        // A second report of the same attempt (a retried network call, a duplicate) changes
        // nothing.
        assertThat(kit.completer.succeed(claimed, kit.jsonOf("{\"answer\": 43}"), null)).isEmpty();
        assertThat(kit.tasks.find(queued.id()).orElseThrow().result())
                .isEqualTo(kit.jsonOf("{\"answer\": 42}"));
        assertThat(kit.count("SELECT count(*) FROM callback_deliveries")).isEqualTo(1);
    }

    @Test
    void aClaimLostInADatabaseCrashLeavesItsTaskClaimableAndItsReportUnrecorded() {
        Task queued = kit.insert(kit.withCallback("echo", CALLBACK, 3));
        ClaimedTask lost = kit.claimer("node-a").claim(1).get(0);
        // A claim commits without waiting for the disk (invariant 21): after a crash that lost
        // it, the row is as it was before the claim.
        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.createUpdate(
                                                "UPDATE tasks SET state = 'queued', attempts = attempts - 1, lease_token = NULL,"
                                                        + " lease_owner = NULL, lease_expires_at = NULL, attempt_started_at = NULL"
                                                        + " WHERE id = :id")
                                        .bind("id", queued.id())
                                        .execute());

        assertThat(kit.completer.succeed(lost, kit.jsonOf("{\"run\": 1}"), "first run"))
                .as("the fence turns the lost claim's report away")
                .isEmpty();
        assertThat(kit.attemptRows(queued.id())).isZero();
        assertThat(kit.count("SELECT count(*) FROM callback_deliveries")).isZero();

        ClaimedTask again = kit.claimer("node-b").claim(1).get(0);
        assertThat(again.task().id()).isEqualTo(queued.id());
        assertThat(again.attempt()).isEqualTo(lost.attempt());
        assertThat(kit.completer.succeed(again, kit.jsonOf("{\"run\": 2}"), null))
                .get()
                .satisfies(t -> assertThat(t.result()).isEqualTo(kit.jsonOf("{\"run\": 2}")));
        assertThat(kit.tasks.attempts(queued.id()))
                .extracting(TaskAttempt::node)
                .containsExactly("node-b");
        assertThat(kit.count("SELECT count(*) FROM callback_deliveries")).isEqualTo(1);
    }

    @Test
    void theAttemptThatEndsItsTaskWithoutLogsIsKeptInTheTaskRowAndWrittenOutBeforeARetry() {
        Task queued =
                kit.insert(
                        NewTask.builder("echo", kit.jsonOf("{}"), kit.jsonOf("{}"))
                                .maxAttempts(2)
                                .timeoutSeconds(60)
                                .retry(0, 0)
                                .build());
        kit.completer.fail(
                kit.claimer("node-a").claim(1).get(0),
                new ExecutionError("agent_error", "first"),
                null);
        Task failed =
                kit.completer
                        .fail(
                                kit.claimer("node-b").claim(1).get(0),
                                new ExecutionError("agent_error", "second"),
                                null)
                        .orElseThrow();
        assertThat(failed.state()).isEqualTo(TaskState.FAILED);

        // the retried attempt has its row; the last one is only in the task row
        assertThat(kit.attemptRows(queued.id())).isEqualTo(1);
        List<TaskAttempt> attempts = kit.tasks.attempts(queued.id());
        assertThat(attempts).extracting(TaskAttempt::node).containsExactly("node-a", "node-b");
        assertThat(attempts).extracting(TaskAttempt::outcome).containsExactly("failed", "failed");
        TaskAttempt last = attempts.get(1);
        assertThat(last.attempt()).isEqualTo(2);
        assertThat(last.finishedAt()).isEqualTo(failed.finishedAt());
        assertThat(last.startedAt()).isNotNull().isBeforeOrEqualTo(last.finishedAt());
        assertThat(last.error().get("message").asText()).isEqualTo("second");
        assertThat(kit.tasks.findLeased(List.of(queued.id())).get(0).orElseThrow().leaseOwner())
                .as("no one holds a finished task's lease")
                .isNull();

        // a retry writes the last attempt's row before the next attempt reuses those columns
        kit.tasks.retry(queued.id(), 1).orElseThrow();
        assertThat(kit.attemptRows(queued.id())).isEqualTo(2);
        assertThat(kit.tasks.attempts(queued.id())).isEqualTo(attempts);

        kit.completer.cancelled(kit.claimer("node-c").claim(1).get(0), null).orElseThrow();
        List<TaskAttempt> afterCancel = kit.tasks.attempts(queued.id());
        assertThat(afterCancel)
                .extracting(TaskAttempt::outcome)
                .containsExactly("failed", "failed", "cancelled");
        assertThat(afterCancel.get(2).node()).isEqualTo("node-c");
        assertThat(afterCancel.get(2).error())
                .as("a cancelled attempt has no error, though its task keeps the last failure's")
                .isNull();
        assertThat(kit.attemptRows(queued.id())).isEqualTo(2);

        kit.tasks.retry(queued.id(), 1).orElseThrow();
        kit.completer.succeed(kit.claimer("node-a").claim(1).get(0), kit.jsonOf("{}"), null);
        assertThat(kit.tasks.attempts(queued.id()))
                .extracting(TaskAttempt::outcome)
                .containsExactly("failed", "failed", "cancelled", "succeeded");
        assertThat(kit.attemptRows(queued.id())).isEqualTo(3);
    }

    @Test
    void aRunningAttemptIsReadFromItsTaskRowAndGetsItsOwnRowWhenItEnds() {
        Task queued = kit.insert(kit.newTask("echo", 0));
        ClaimedTask claimed = kit.claimer("node-a").claim(1).get(0);

        assertThat(kit.tasks.attempts(queued.id()))
                .singleElement()
                .satisfies(
                        a -> {
                            assertThat(a.attempt()).isEqualTo(1);
                            assertThat(a.node()).isEqualTo("node-a");
                            assertThat(a.startedAt()).isEqualTo(claimed.startedAt());
                            assertThat(a.finishedAt()).isNull();
                            assertThat(a.outcome()).isNull();
                        });
        assertThat(kit.count("SELECT count(*) FROM ended_attempts")).isZero();

        kit.completer.succeed(claimed, kit.jsonOf("{}"), "done");

        assertThat(kit.tasks.attempts(queued.id()))
                .singleElement()
                .satisfies(
                        a -> {
                            assertThat(a.node()).isEqualTo("node-a");
                            assertThat(a.startedAt()).isEqualTo(claimed.startedAt());
                            assertThat(a.finishedAt()).isAfterOrEqualTo(a.startedAt());
                            assertThat(a.outcome()).isEqualTo("succeeded");
                            assertThat(a.logs()).isEqualTo("done");
                        });
    }

    @Test
    void anAttemptRowOpenedByANodeOfThePreviousVersionIsShownOnceAndClosedInPlace() {
        Task queued = kit.insert(kit.newTask("echo", 0));
        ClaimedTask claimed = kit.claimer("node-a").claim(1).get(0);
        // Before V11 the claim itself inserted the attempt's row, open.
        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.createUpdate(
                                                "INSERT INTO task_attempts (task_id, attempt, node, lease_token, started_at)"
                                                        + " VALUES (:id, 1, 'node-a', :token, now())")
                                        .bind("id", queued.id())
                                        .bind("token", claimed.leaseToken())
                                        .execute());
        assertThat(kit.tasks.attempts(queued.id())).hasSize(1);

        kit.completer.fail(claimed, new ExecutionError("agent_error", "boom"), null);

        assertThat(kit.tasks.attempts(queued.id()))
                .singleElement()
                .satisfies(
                        a -> {
                            assertThat(a.outcome()).isEqualTo("failed");
                            assertThat(a.error().path("message").asText()).isEqualTo("boom");
                        });
    }

    @Test
    void aResultFromASupersededAttemptIsRecordedAsStaleAndChangesNothing() {
        Task queued = kit.insert(kit.withCallback("echo", CALLBACK, 3));
        ClaimedTask first = kit.claimer("node-a").claim(1).get(0);
        // What a rescue does once the first node's lease has expired: requeue through the fence.
        assertThat(kit.completer.release(first)).isPresent();
        ClaimedTask second = kit.claimer("node-b").claim(1).get(0);
        assertThat(second.attempt()).isEqualTo(2);

        assertThat(kit.completer.succeed(first, kit.jsonOf("\"late\""), null)).isEmpty();
        assertThat(
                        kit.completer.fail(
                                first, new ExecutionError("agent_error", "late failure"), null))
                .isEmpty();

        Task now = kit.tasks.find(queued.id()).orElseThrow();
        assertThat(now.state()).isEqualTo(TaskState.RUNNING);
        assertThat(now.result()).isNull();
        assertThat(kit.count("SELECT count(*) FROM callback_deliveries")).isZero();

        assertThat(kit.completer.succeed(second, kit.jsonOf("\"on time\""), null)).isPresent();
        assertThat(kit.tasks.find(queued.id()).orElseThrow().result())
                .isEqualTo(kit.jsonOf("\"on time\""));
        List<String> outcomes =
                kit.database
                        .jdbi()
                        .withHandle(
                                h ->
                                        h.createQuery(
                                                        "SELECT outcome FROM ended_attempts WHERE task_id = :id ORDER BY attempt")
                                                .bind("id", queued.id())
                                                .mapTo(String.class)
                                                .list());
        assertThat(outcomes).containsExactly("released", "succeeded");
        assertThat(kit.count("SELECT count(*) FROM callback_deliveries")).isEqualTo(1);
    }

    @Test
    void aFailedAttemptWithAttemptsLeftIsRequeuedWithBackoffAndTheLastOneFailsTheTask() {
        Task queued = kit.insert(kit.withCallback("echo", CALLBACK, 2));
        ClaimedTask first = kit.claimer("node-a").claim(1).get(0);

        Task retried =
                kit.completer
                        .fail(first, new ExecutionError("agent_error", "boom"), "stderr")
                        .orElseThrow();
        assertThat(retried.state()).isEqualTo(TaskState.QUEUED);
        assertThat(retried.runAt()).isAfter(retried.updatedAt());
        assertThat(retried.error().path("message").asText()).isEqualTo("boom");
        assertThat(kit.count("SELECT count(*) FROM callback_deliveries")).isZero();
        assertThat(kit.claimer("node-a").claim(1)).as("not due until its backoff passes").isEmpty();

        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.execute(
                                        "UPDATE tasks SET run_at = now() WHERE id = ?",
                                        queued.id()));
        ClaimedTask second = kit.claimer("node-a").claim(1).get(0);
        Task failed =
                kit.completer
                        .fail(second, new ExecutionError("timeout", "too slow"), null)
                        .orElseThrow();

        assertThat(failed.state()).isEqualTo(TaskState.FAILED);
        assertThat(failed.attempts()).isEqualTo(2);
        assertThat(failed.error().path("code").asText()).isEqualTo("timeout");
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM callback_deliveries WHERE event_type = 'task.failed'"))
                .isEqualTo(1);
    }

    @Test
    void cancellingATaskThatHasNotStartedEndsItAtOnceAndARunningOneIsAskedToStop() {
        Task waiting = kit.insert(kit.withCallback("echo", CALLBACK, 1));
        Task other = kit.insert(kit.withCallback("echo", CALLBACK, 1));
        kit.database
                .jdbi()
                .useHandle(
                        h -> h.execute("UPDATE tasks SET priority = -1 WHERE id = ?", other.id()));
        ClaimedTask running = kit.claimer("node-a").claim(1).get(0);
        assertThat(running.id()).isEqualTo(other.id());

        assertThat(kit.tasks.cancel(waiting.id()))
                .isInstanceOfSatisfying(
                        CancelOutcome.Cancelled.class,
                        c -> assertThat(c.task().state()).isEqualTo(TaskState.CANCELLED));
        assertThat(kit.tasks.cancel(other.id()))
                .isInstanceOfSatisfying(
                        CancelOutcome.Requested.class,
                        r -> assertThat(r.task().cancelRequestedAt()).isNotNull());
        assertThat(kit.tasks.cancel(UUID.randomUUID())).isInstanceOf(CancelOutcome.NotFound.class);
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM callback_deliveries WHERE event_type = 'task.cancelled'"))
                .isEqualTo(1);
        assertThat(kit.claimer("node-a").claim(5))
                .as("a cancelled task is never claimed")
                .isEmpty();

        Task stopped = kit.completer.cancelled(running, null).orElseThrow();
        assertThat(stopped.state()).isEqualTo(TaskState.CANCELLED);
        assertThat(kit.tasks.cancel(other.id())).isInstanceOf(CancelOutcome.AlreadyFinished.class);
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM callback_deliveries WHERE event_type = 'task.cancelled'"))
                .isEqualTo(2);
    }

    @Test
    void aFailedTaskCanBeRetriedWithMoreAttempts() {
        Task task = kit.insert(kit.withCallback("echo", CALLBACK, 1));
        ClaimedTask first = kit.claimer("node-a").claim(1).get(0);
        kit.completer.fail(first, new ExecutionError("agent_error", "boom"), null);

        Task retried = kit.tasks.retry(task.id(), 2).orElseThrow();
        assertThat(retried.state()).isEqualTo(TaskState.QUEUED);
        assertThat(retried.maxAttempts()).isEqualTo(3);
        assertThat(retried.error()).isNull();
        assertThat(kit.tasks.retry(task.id(), 1)).as("only failed or cancelled tasks").isEmpty();
        assertThat(kit.claimer("node-a").claim(1)).extracting(c -> c.attempt()).containsExactly(2);
    }

    @Test
    void manyTasksAreRetriedInOneStatementButOnlyFailedOrCancelledOnes() {
        for (int i = 0; i < 3; i++) {
            kit.insert(kit.withCallback("echo", CALLBACK, 1));
        }
        List<ClaimedTask> claimed = kit.claimer("node-a").claim(3);
        kit.completer.fail(claimed.get(0), new ExecutionError("agent_error", "boom"), null);
        kit.completer.cancelled(claimed.get(1), null);
        kit.completer.succeed(claimed.get(2), kit.jsonOf("{}"), null);

        int retried = kit.tasks.retryAll(claimed.stream().map(ClaimedTask::id).toList(), 2);

        assertThat(retried).isEqualTo(2);
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM tasks WHERE state = 'queued' AND max_attempts = 3 AND error IS NULL"))
                .isEqualTo(2);
        assertThat(kit.tasks.find(claimed.get(2).id()).orElseThrow().state())
                .isEqualTo(TaskState.SUCCEEDED);
    }
}
