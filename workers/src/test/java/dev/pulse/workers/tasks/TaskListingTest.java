package dev.pulse.workers.tasks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.executors.ExecutionError;
import dev.pulse.workers.queue.ClaimedTask;
import dev.pulse.workers.testing.QueueKit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Listing tasks by state and agent: each state lives in its own partial index (or none), so every
 * filter must still find exactly its tasks, newest first, page by page.
 */
class TaskListingTest {

    @RegisterExtension final QueueKit kit = new QueueKit();

    @Test
    void eachStateFilterFindsExactlyItsTasksNewestFirst() {
        UUID scheduled = kit.insert(kit.delayed("echo", 3600)).id();
        List<UUID> toClaim = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            // one attempt each, so that a failure is final
            toClaim.add(kit.insert(kit.withCallback(i % 2 == 0 ? "echo" : "sleep", null, 1)).id());
        }
        List<ClaimedTask> claimed = kit.claimer("node-a").claim(4);
        assertThat(claimed)
                .extracting(ClaimedTask::id)
                .containsExactlyInAnyOrderElementsOf(toClaim);
        ClaimedTask succeeds = byId(claimed, toClaim.get(0));
        ClaimedTask fails = byId(claimed, toClaim.get(1));
        ClaimedTask cancelled = byId(claimed, toClaim.get(2));
        kit.completer.recordAll(
                List.of(
                        kit.completer.succeeded(succeeds, kit.jsonOf("{}"), null),
                        kit.completer.failed(
                                fails, new ExecutionError("agent_error", "boom"), null),
                        kit.completer.cancellation(cancelled, null)));
        UUID running = toClaim.get(3);
        UUID queued = kit.insert(kit.newTask("echo", 0)).id();

        assertThat(ids(TaskState.SCHEDULED, null)).containsExactly(scheduled);
        assertThat(ids(TaskState.QUEUED, null)).containsExactly(queued);
        assertThat(ids(TaskState.RUNNING, null)).containsExactly(running);
        assertThat(ids(TaskState.SUCCEEDED, null)).containsExactly(succeeds.id());
        assertThat(ids(TaskState.CANCELLED, null)).containsExactly(cancelled.id());
        assertThat(ids(TaskState.FAILED, null)).containsExactly(fails.id());
        assertThat(ids(TaskState.FAILED, "echo")).isEmpty();
        assertThat(ids(TaskState.RUNNING, "sleep")).containsExactly(running);
        assertThat(ids(null, "sleep")).containsExactly(running, fails.id());
        assertThat(ids(null, null))
                .containsExactly(
                        queued, running, cancelled.id(), fails.id(), succeeds.id(), scheduled);
        assertThat(
                        kit.tasks.ids(
                                TaskFilter.of(null, "echo", null, null, 10),
                                List.of(TaskState.SUCCEEDED, TaskState.CANCELLED)))
                .containsExactly(cancelled.id(), succeeds.id());
    }

    @Test
    void pagesThroughAFilterWithTheCursor() {
        List<UUID> succeeded = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            kit.insert(kit.newTask("echo", 0));
        }
        List<ClaimedTask> claimed = kit.claimer("node-a").claim(5);
        kit.completer.recordAll(
                claimed.stream()
                        .map(c -> kit.completer.succeeded(c, kit.jsonOf("{}"), null))
                        .toList());
        claimed.forEach(c -> succeeded.add(0, c.id()));
        kit.insert(kit.newTask("echo", 0)); // queued: not on the pages

        List<UUID> seen = new ArrayList<>();
        UUID cursor = null;
        do {
            TaskPage page =
                    kit.tasks.list(TaskFilter.of(TaskState.SUCCEEDED, "echo", null, cursor, 2));
            page.items().forEach(t -> seen.add(t.id()));
            cursor = page.nextCursor();
        } while (cursor != null);

        assertThat(seen)
                .containsExactlyElementsOf(
                        succeeded.stream().sorted((a, b) -> b.compareTo(a)).toList());
    }

    private List<UUID> ids(TaskState state, String agent) {
        return kit.tasks.list(TaskFilter.of(state, agent, null, null, 50)).items().stream()
                .map(Task::id)
                .toList();
    }

    private static ClaimedTask byId(List<ClaimedTask> claimed, UUID id) {
        return claimed.stream().filter(c -> c.id().equals(id)).findFirst().orElseThrow();
    }
}
