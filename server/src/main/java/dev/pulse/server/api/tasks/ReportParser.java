package dev.pulse.server.api.tasks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.ExecutionError;
import dev.pulse.server.api.JsonBodies;
import dev.pulse.server.api.Problem;
import dev.pulse.server.api.ProblemException;
import dev.pulse.workers.json.FieldChecks;
import dev.pulse.workers.json.FieldError;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Reads an asynchronous agent's report, the body of {@code POST /v1/tasks/{id}/complete}: {@code
 * {"lease_token": "…", "result": …}} or {@code {"lease_token": "…", "error": {"code": "…",
 * "message": "…"}}}, with optional {@code logs}.
 */
final class ReportParser {

    /** An agent's report: either {@code result} or {@code error} is set. */
    record Report(UUID leaseToken, JsonNode result, ExecutionError error, String logs) {}

    static final String EXAMPLE =
            "{\"lease_token\": \"<the Pulse-Lease-Token header you were sent>\", \"result\": {...}}";
    static final int MAX_MESSAGE_CHARS = 4096;
    static final int MAX_LOGS_CHARS = 64 * 1024;
    private static final Set<String> FIELDS = Set.of("lease_token", "result", "error", "logs");
    private static final Set<String> ERROR_FIELDS = Set.of("code", "message");
    private static final Pattern CODE = Pattern.compile("[a-z][a-z0-9_]{0,63}");

    private final ObjectMapper json;

    ReportParser(ObjectMapper json) {
        this.json = json;
    }

    Report parse(String body) {
        JsonNode root = JsonBodies.object(json, body, EXAMPLE);
        List<FieldError> errors = new ArrayList<>();
        FieldChecks.noUnknownFields(root, FIELDS, "", errors);
        UUID token = token(root.get("lease_token"), errors);
        JsonNode result = root.get("result");
        JsonNode errorNode = root.get("error");
        ExecutionError error = null;
        if ((result == null) == (errorNode == null)) {
            errors.add(
                    new FieldError(
                            result == null ? "result" : "error",
                            "send exactly one of result (the agent succeeded) and error (it failed)"));
        } else if (errorNode != null) {
            error = error(errorNode, errors);
        } else if (FieldChecks.containsNul(result)) {
            errors.add(
                    new FieldError(
                            "result",
                            "JSON strings must not contain the NUL character (\\u0000); "
                                    + "PostgreSQL cannot store it"));
        }
        String logs = text(root.get("logs"), "logs", MAX_LOGS_CHARS, errors);
        if (!errors.isEmpty()) {
            throw new ProblemException(Problem.invalid(422, errors));
        }
        return new Report(token, result, error, logs);
    }

    private static UUID token(JsonNode node, List<FieldError> errors) {
        if (node == null || node.isNull()) {
            errors.add(
                    new FieldError(
                            "lease_token",
                            "is required: the Pulse-Lease-Token header of the request that started the run"));
            return null;
        }
        try {
            return UUID.fromString(node.asText());
        } catch (IllegalArgumentException e) {
            errors.add(
                    new FieldError(
                            "lease_token",
                            "must be the UUID sent as the Pulse-Lease-Token header"));
            return null;
        }
    }

    private static ExecutionError error(JsonNode node, List<FieldError> errors) {
        if (!node.isObject()) {
            errors.add(
                    new FieldError(
                            "error",
                            "must be an object such as {\"code\": \"agent_error\", \"message\": \"what went wrong\"}"));
            return null;
        }
        FieldChecks.noUnknownFields(node, ERROR_FIELDS, "error.", errors);
        String code = ExecutionError.AGENT_ERROR;
        JsonNode codeNode = node.get("code");
        if (codeNode != null && !codeNode.isNull()) {
            if (!codeNode.isTextual() || !CODE.matcher(codeNode.asText()).matches()) {
                errors.add(
                        new FieldError(
                                "error.code",
                                "must be a snake_case word of at most 64 characters, e.g. agent_error"));
            } else {
                code = codeNode.asText();
            }
        }
        String message = text(node.get("message"), "error.message", MAX_MESSAGE_CHARS, errors);
        if (message == null && node.path("message").isMissingNode()) {
            errors.add(new FieldError("error.message", "is required: say what went wrong"));
        }
        return new ExecutionError(code, message);
    }

    private static String text(JsonNode node, String field, int maxChars, List<FieldError> errors) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()
                || node.asText().length() > maxChars
                || node.asText().indexOf('\0') >= 0) {
            errors.add(
                    new FieldError(
                            field,
                            "must be a string of at most " + maxChars + " characters without NUL"));
            return null;
        }
        return node.asText();
    }
}
