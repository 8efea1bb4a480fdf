package dev.pulse.workers.queue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pulse.executors.ExecutionError;
import dev.pulse.workers.db.CallGroups;
import dev.pulse.workers.tasks.Task;
import java.time.Duration;
import java.util.Optional;

/**
 * Asynchronous agents' reports ({@code POST /v1/tasks/{id}/complete}), recorded with the reports
 * beside them in one {@link TaskCompleter#recordAll} transaction, as the worker's own results are
 * ({@link CallGroups}). A task reported twice in one group (a client's retry racing its first try)
 * is recorded once: the fence lets one report through and answers the other as stale, as if they
 * had come apart.
 */
public final class ReportGroups implements AutoCloseable {

    private final TaskCompleter completer;
    private final CallGroups<TaskCompleter.Completion, Optional<Task>> groups;

    /**
     * @param window how long a group waits for more reports after its first (zero: a lone report
     *     waits for nothing; those that come while a group is recorded form the next)
     * @param maxGroup the most reports one transaction records
     * @param recorders threads recording groups (each holds a connection while it records)
     */
    public ReportGroups(TaskCompleter completer, Duration window, int maxGroup, int recorders) {
        this.completer = completer;
        this.groups = new CallGroups<>("report", completer::recordAll, window, maxGroup, recorders);
    }

    /** What {@link TaskCompleter#succeed} records and answers. */
    public Optional<Task> succeed(ClaimedTask claimed, JsonNode output, String logs) {
        return groups.call(completer.succeeded(claimed, output, logs));
    }

    /** What {@link TaskCompleter#fail} records and answers. */
    public Optional<Task> fail(ClaimedTask claimed, ExecutionError error, String logs) {
        return groups.call(completer.failed(claimed, error, logs));
    }

    @Override
    public void close() {
        groups.close();
    }
}
