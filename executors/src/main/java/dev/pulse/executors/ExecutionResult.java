package dev.pulse.executors;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The outcome of one attempt: the agent's output when it succeeded, otherwise an error with a
 * machine-readable code. {@code logs} is what the agent wrote besides its result (stderr for a
 * process), already cut to a bounded excerpt.
 */
public record ExecutionResult(boolean succeeded, JsonNode output, ExecutionError error, String logs) {

    public static ExecutionResult success(JsonNode output, String logs) {
        return new ExecutionResult(true, output, null, logs);
    }

    public static ExecutionResult failure(ExecutionError error, String logs) {
        return new ExecutionResult(false, null, error, logs);
    }

    public static ExecutionResult failure(String code, String message) {
        return failure(new ExecutionError(code, message), null);
    }
}
