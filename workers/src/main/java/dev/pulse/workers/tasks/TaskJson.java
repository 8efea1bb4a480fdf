package dev.pulse.workers.tasks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.workers.json.Timestamps;
import java.time.Instant;

/** The JSON form of a task, shared by the API and callback payloads. */
public final class TaskJson {

    private final ObjectMapper json;

    public TaskJson(ObjectMapper json) {
        this.json = json;
    }

    public ObjectNode toJson(Task t) {
        ObjectNode node = json.createObjectNode();
        node.put("id", t.id().toString());
        node.put("agent", t.agent());
        node.put("state", t.state().wire());
        node.put("priority", t.priority());
        node.set("input", t.input());
        node.set("metadata", t.metadata());
        node.put("callback_url", t.callbackUrl());
        node.set("result", t.result());
        node.set("error", t.error());
        node.put("attempts", t.attempts());
        node.put("max_attempts", t.maxAttempts());
        node.put("timeout_seconds", t.timeoutSeconds());
        node.put("created_at", iso(t.createdAt()));
        node.put("run_at", iso(t.runAt()));
        node.put("started_at", iso(t.startedAt()));
        node.put("finished_at", iso(t.finishedAt()));
        node.put("updated_at", iso(t.updatedAt()));
        node.put("cancel_requested_at", iso(t.cancelRequestedAt()));
        node.put("idempotency_key", t.idempotencyKey());
        node.put("schedule_name", t.scheduleName());
        node.put("concurrency_key", t.concurrencyKey());
        node.set("budget", t.budget());
        node.put("fire_time", iso(t.fireTime()));
        node.putObject("retry")
                .put("base_seconds", t.retryBaseMs() / 1000.0)
                .put("max_seconds", t.retryMaxMs() / 1000.0);
        return node;
    }

    private static String iso(Instant instant) {
        return Timestamps.rfc3339(instant);
    }
}
