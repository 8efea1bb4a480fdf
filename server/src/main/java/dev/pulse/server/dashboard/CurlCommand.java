package dev.pulse.server.dashboard;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.workers.tasks.Task;

/**
 * "Copy as curl": the command that queues the same task again through the API. The key is left as
 * {@code $PULSE_KEY}; no secret is ever written into it.
 */
final class CurlCommand {

    private CurlCommand() {}

    static String of(ObjectMapper json, Task task, String baseUrl) {
        ObjectNode body = json.createObjectNode();
        body.put("agent", task.agent());
        body.set("input", task.input());
        if (task.metadata() != null && !task.metadata().isEmpty()) {
            body.set("metadata", task.metadata());
        }
        if (task.callbackUrl() != null) {
            body.put("callback_url", task.callbackUrl());
        }
        if (task.priority() != 0) {
            body.put("priority", task.priority());
        }
        body.put("max_attempts", task.maxAttempts());
        body.put("timeout_seconds", task.timeoutSeconds());
        return "curl -s "
                + shellQuote(baseUrl + "/v1/tasks")
                + " \\\n"
                + "  -H \"Authorization: Bearer $PULSE_KEY\" -H 'content-type: application/json' \\\n"
                + "  -d "
                + shellQuote(body.toString());
    }

    static String shellQuote(String s) {
        return "'" + s.replace("'", "'\"'\"'") + "'";
    }
}
