package dev.pulse.workers.queue;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pulse.workers.db.MovedRows;
import dev.pulse.workers.tasks.CancelOutcome;
import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskState;
import dev.pulse.workers.testing.QueueKit;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A statement that locks a task row another transaction has just moved to another partition (V23: a
 * task moves when it finishes) fails with 40001; the callers run their transaction again and see
 * the row where it is now. Each test holds the moving UPDATE open on one connection, lets the other
 * block on the row, then commits the first.
 */
class MovedRowsTest {

    @RegisterExtension final QueueKit kit = new QueueKit();

    /** The rescuer's end of an attempt: the task failed, moved to today's partition. */
    private static final String END_RUNNING =
            "UPDATE tasks SET state = 'failed', finished_at = now(), lease_token = NULL,"
                    + " lease_owner = NULL, lease_expires_at = NULL WHERE id = ?";

    @Test
    void aLockOnAMovedRowFailsWith40001AndRunsAgainToSeeTheRowGone() throws Exception {
        UUID id = kit.insert(kit.newTask("echo", 0)).id();
        String lock = "SELECT id FROM tasks_queue WHERE id = :id FOR UPDATE";
        Supplier<Optional<UUID>> locking =
                () ->
                        kit.database
                                .jdbi()
                                .inTransaction(
                                        h ->
                                                h.createQuery(lock)
                                                        .bind("id", id)
                                                        .mapTo(UUID.class)
                                                        .findOne());
        // Without running again: the error itself, on a Jdbi that does not retry.
        try (Handle mover =
                moving(
                        id,
                        "UPDATE tasks SET state = 'cancelled', finished_at = now() WHERE id = ?")) {
            CompletableFuture<Optional<UUID>> plain =
                    CompletableFuture.supplyAsync(
                            () ->
                                    org.jdbi.v3.core.Jdbi.create(kit.database.dataSource())
                                            .inTransaction(
                                                    h ->
                                                            h.createQuery(lock)
                                                                    .bind("id", id)
                                                                    .mapTo(UUID.class)
                                                                    .findOne()));
            awaitBlocked();
            mover.commit();
            assertThatThrownBy(() -> plain.get(30, TimeUnit.SECONDS))
                    .satisfies(e -> assertThat(MovedRows.isMovedRow(e)).isTrue());
        }
        // Through the node's Jdbi: run again, the row is not in the queue any more.
        kit.tasks.retry(id, 1);
        try (Handle mover =
                moving(
                        id,
                        "UPDATE tasks SET state = 'cancelled', finished_at = now() WHERE id = ?")) {
            CompletableFuture<Optional<UUID>> retried = CompletableFuture.supplyAsync(locking);
            awaitBlocked();
            mover.commit();
            assertThat(retried.get(30, TimeUnit.SECONDS)).isEmpty();
        }
    }

    @Test
    void aFencedFinishOfATaskEndedMeanwhileIsRecordedStaleNotFailed() throws Exception {
        kit.insert(kit.newTask("echo", 0));
        ClaimedTask claimed = kit.claimer("node-a").claim(1).get(0);
        CompletableFuture<List<Optional<Task>>> finish;
        try (Handle mover = moving(claimed.id(), END_RUNNING)) {
            mover.execute(
                    "INSERT INTO task_attempts (task_id, attempt, node, lease_token, finished_at, outcome)"
                            + " VALUES (?, 1, 'node-a', ?, now(), 'lost')",
                    claimed.id(),
                    claimed.leaseToken());
            finish =
                    CompletableFuture.supplyAsync(
                            () ->
                                    kit.completer.recordAll(
                                            List.of(
                                                    kit.completer.succeeded(
                                                            claimed, kit.jsonOf("{}"), null))));
            awaitBlocked();
            mover.commit();
        }
        assertThat(finish.get(30, TimeUnit.SECONDS)).containsExactly(Optional.empty());
        Task task = kit.tasks.find(claimed.id()).orElseThrow();
        assertThat(task.state()).isEqualTo(TaskState.FAILED);
        assertThat(task.result()).isNull();
        assertThat(
                        kit.count(
                                "SELECT count(*) FROM task_attempts WHERE outcome = 'stale' AND task_id = '"
                                        + claimed.id()
                                        + "'"))
                .isEqualTo(1);
    }

    @Test
    void aCancelOfARunningTaskThatFinishesMeanwhileAnswersAlreadyFinished() throws Exception {
        kit.insert(kit.newTask("echo", 0));
        ClaimedTask claimed = kit.claimer("node-a").claim(1).get(0);
        CompletableFuture<CancelOutcome> cancel;
        try (Handle mover =
                moving(
                        claimed.id(),
                        "UPDATE tasks SET state = 'succeeded', result = '{}', finished_at = now(),"
                                + " lease_token = NULL, lease_owner = NULL, lease_expires_at = NULL WHERE id = ?")) {
            cancel = CompletableFuture.supplyAsync(() -> kit.tasks.cancel(claimed.id()));
            awaitBlocked();
            mover.commit();
        }
        CancelOutcome outcome = cancel.get(30, TimeUnit.SECONDS);
        assertThat(outcome).isInstanceOf(CancelOutcome.AlreadyFinished.class);
        assertThat(((CancelOutcome.AlreadyFinished) outcome).task().state())
                .isEqualTo(TaskState.SUCCEEDED);
        assertThat(kit.tasks.find(claimed.id()).orElseThrow().cancelRequestedAt()).isNull();
    }

    /** A connection holding {@code update} of the task, uncommitted. */
    private Handle moving(UUID id, String update) {
        Handle h = kit.database.jdbi().open();
        h.begin();
        assertThat(h.execute(update, id)).isEqualTo(1);
        return h;
    }

    /** Until some statement waits for a row lock. */
    private void awaitBlocked() throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (kit.count("SELECT count(*) FROM pg_locks WHERE NOT granted") == 0) {
            assertThat(System.nanoTime()).as("a statement blocked on the row").isLessThan(deadline);
            Thread.sleep(10);
        }
    }
}
