package dev.pulse.server.mcp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.server.api.PathIds;
import dev.pulse.server.api.Problem;
import dev.pulse.server.api.ProblemException;
import dev.pulse.workers.json.FieldChecks;
import dev.pulse.workers.json.FieldError;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * The arguments of tools whose REST route takes a path or query parameters rather than a body: a
 * problem naming the argument when one is unknown or of the wrong kind.
 */
final class Arguments {

    private final ObjectNode arguments;

    Arguments(ObjectNode arguments, Set<String> allowed) {
        this.arguments = arguments;
        List<FieldError> errors = new ArrayList<>();
        FieldChecks.noUnknownFields(arguments, allowed, "", errors);
        if (!errors.isEmpty()) {
            throw new ProblemException(Problem.invalid(422, errors));
        }
    }

    /**
     * The argument as its query parameter would carry it (a number as its digits), or null when
     * absent.
     */
    String text(String name) {
        JsonNode node = arguments.get(name);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual() && !node.isNumber()) {
            throw new ProblemException(
                    Problem.invalid(422, name, "must be a string, got " + FieldChecks.kind(node)));
        }
        return node.asText();
    }

    /** A required task id, refused as the REST route refuses a bad id in its path. */
    UUID taskId() {
        String raw = text("id");
        if (raw == null) {
            throw new ProblemException(
                    Problem.invalid(422, "id", "is required: a task id as returned by queue_task"));
        }
        return PathIds.parse(raw)
                .orElseThrow(
                        () ->
                                new ProblemException(
                                        Problem.notFound(
                                                "no task with id '"
                                                        + raw
                                                        + "': task ids are UUIDs as returned by POST /v1/tasks")));
    }

    /** An optional integer from {@code min} to {@code max}; {@code fallback} when absent. */
    int integer(String name, int min, int max, int fallback) {
        JsonNode node = arguments.get(name);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isIntegralNumber()
                || !node.canConvertToInt()
                || node.asInt() < min
                || node.asInt() > max) {
            throw new ProblemException(
                    Problem.invalid(
                            422,
                            name,
                            "must be an integer from "
                                    + min
                                    + " to "
                                    + max
                                    + ", got "
                                    + (node.isNumber() ? node.asText() : FieldChecks.kind(node))));
        }
        return node.asInt();
    }
}
