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

    public static Optional<JsonNode> of(ObjectMapper json, String output) {
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
