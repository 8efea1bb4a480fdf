package dev.pulse.workers.queue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pulse.executors.ExecutionError;

/**
 * Where a slot hands how its attempt ended, to be recorded; each call may block while the recording
 * falls behind (back-pressure). {@link BatchCompleter} records them in batches through {@link
 * TaskCompleter}'s fenced updates.
 */
public interface EndedAttempts {

    void succeeded(ClaimedTask claimed, JsonNode output, String logs) throws InterruptedException;

    /** A failure: queued again after the task's backoff while attempts remain, else failed. */
    void failed(ClaimedTask claimed, ExecutionError error, String logs) throws InterruptedException;

    /**
     * Not run: the provider asked to be left alone (the agent is held meanwhile); back to the queue
     * without using one of the task's attempts.
     */
    void throttled(ClaimedTask claimed, ExecutionError error, String logs)
            throws InterruptedException;

    /** Went over its task's budget: failed for good, its usage and result kept. */
    void overBudget(
            ClaimedTask claimed, ExecutionError error, JsonNode usage, JsonNode output, String logs)
            throws InterruptedException;

    /** Stopped because the task's cancellation was requested. */
    void cancelled(ClaimedTask claimed, String logs) throws InterruptedException;

    /** Unfinished (the node is stopping): handed back to the queue. */
    void released(ClaimedTask claimed) throws InterruptedException;
}
