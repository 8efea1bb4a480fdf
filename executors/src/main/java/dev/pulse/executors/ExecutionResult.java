package dev.pulse.executors;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;

/**
 * The outcome of one attempt: the agent's output when it succeeded, otherwise an error with a
 * machine-readable code. {@code logs} is what the agent wrote besides its result (stderr for a
 * process), already cut to a bounded excerpt. {@code alreadyRecorded} means the agent reported its
 * result itself through the completion endpoint, which recorded it: the worker must not record
 * anything more. {@code holdUntil} is set when the agent's provider asked to be left alone until
 * then ({@link #throttled}): the attempt did not run, and the agent should pause on every node.
 */
public record ExecutionResult(
        boolean succeeded,
        JsonNode output,
        ExecutionError error,
        String logs,
        boolean alreadyRecorded,
        Instant holdUntil) {

    public ExecutionResult(
            boolean succeeded,
            JsonNode output,
            ExecutionError error,
            String logs,
            boolean alreadyRecorded) {
        this(succeeded, output, error, logs, alreadyRecorded, null);
    }

    /**
     * The provider answered "too many requests" or "not now" and named until when: error code
     * {@code throttled}; the task goes back to the queue without using one of its attempts.
     */
    public static ExecutionResult throttled(Instant until, String message) {
        return new ExecutionResult(
                false,
                null,
                new ExecutionError(ExecutionError.THROTTLED, message),
                null,
                false,
                until);
    }

    /** Whether the provider asked to be left alone (see {@link #throttled}). */
    public boolean isThrottled() {
        return holdUntil != null;
    }

    public static ExecutionResult success(JsonNode output, String logs) {
        return new ExecutionResult(true, output, null, logs, false);
    }

    public static ExecutionResult failure(ExecutionError error, String logs) {
        return new ExecutionResult(false, null, error, logs, false);
    }

    public static ExecutionResult failure(String code, String message) {
        return failure(new ExecutionError(code, message), null);
    }

    /**
     * This result with {@code line} before its logs: how the run came about, for the attempt's
     * record.
     */
    public ExecutionResult withNote(String line) {
        return new ExecutionResult(
                succeeded,
                output,
                error,
                logs == null ? line : line + "\n" + logs,
                alreadyRecorded,
                holdUntil);
    }

    /**
     * The agent reported its own result, already recorded; {@code succeeded} is what it reported.
     */
    public static ExecutionResult reportedByAgent(boolean succeeded) {
        return new ExecutionResult(succeeded, null, null, null, true);
    }
}
