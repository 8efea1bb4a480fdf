package dev.pulse.executors;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Optional;

/**
 * The result convention of agents that print (containers, Kubernetes Jobs): the last line of their
 * output that parses as JSON, so that they may log freely before it.
 */
public final class LastJsonLine {

    private LastJsonLine() {}

    /**
     * The agent's result: a success holding the last JSON line of {@code output}, or a failure
     * ({@link ExecutionError#INVALID_OUTPUT}) saying {@code noJsonLine} when there is none; both
     * keep {@code logs}.
     */
    public static ExecutionResult result(
            ObjectMapper json, String output, String logs, String noJsonLine) {
        return of(json, output)
                .map(value -> ExecutionResult.success(value, logs))
                .orElseGet(
                        () ->
                                ExecutionResult.failure(
                                        new ExecutionError(
                                                ExecutionError.INVALID_OUTPUT, noJsonLine),
                                        logs));
    }

    static Optional<JsonNode> of(ObjectMapper json, String output) {
        String[] lines = output.split("\n");
        for (int i = lines.length - 1; i >= 0; i--) {
            String line = lines[i].trim();
            if (line.isEmpty()) {
                continue;
            }
            try {
                return Optional.of(json.readTree(line));
            } catch (JsonProcessingException notJson) {
                // an earlier line may be the result
            }
        }
        return Optional.empty();
    }
}
