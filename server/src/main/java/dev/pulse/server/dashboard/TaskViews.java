package dev.pulse.server.dashboard;

import dev.pulse.workers.tasks.Task;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/** A task as the list and detail pages show it: formatted times, a short input preview. */
final class TaskViews {

    private TaskViews() {}

    static Map<String, Object> row(Task t, Instant now) {
        Map<String, Object> row = new HashMap<>();
        row.put("id", t.id().toString());
        row.put(
                "shortId",
                t.id().toString().substring(0, 8) + "…" + t.id().toString().substring(32));
        row.put("agent", t.agent());
        row.put("state", t.state().wire());
        row.put("attempts", t.attempts() + "/" + t.maxAttempts());
        row.put("created", Formats.relative(t.createdAt(), now));
        row.put("createdAt", Formats.time(t.createdAt()));
        row.put("schedule", t.scheduleName() == null ? "" : t.scheduleName());
        row.put(
                "took",
                t.startedAt() == null || t.finishedAt() == null
                        ? ""
                        : Formats.between(t.startedAt(), t.finishedAt()));
        String input = t.input() == null ? "" : t.input().toString();
        row.put("inputPreview", input.length() > 80 ? input.substring(0, 80) + "…" : input);
        return row;
    }
}
