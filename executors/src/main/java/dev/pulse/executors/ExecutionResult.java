package dev.pulse.executors;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The outcome of one attempt: the agent's output when it succeeded, otherwise an error with a
 * machine-readable code. {@code logs} is what the agent wrote besides its result (stderr for a
 * process), already cut to a bounded excerpt. {@code alreadyRecorded} means the agent reported its
 * result itself through the completion endpoint, which recorded it: the worker must not record
 * anything more.
 */
public record ExecutionResult(
        boolean succeeded,
        JsonNode output,
        ExecutionError error,
        String logs,
        boolean alreadyRecorded) {

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
                alreadyRecorded);
    }

    /**
     * The agent reported its own result, already recorded; {@code succeeded} is what it reported.
     */
    public static ExecutionResult reportedByAgent(boolean succeeded) {
        return new ExecutionResult(succeeded, null, null, null, true);
    }
}
