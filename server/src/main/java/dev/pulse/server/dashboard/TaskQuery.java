package dev.pulse.server.dashboard;

import dev.pulse.workers.tasks.TaskFilter;
import dev.pulse.workers.tasks.TaskState;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Function;

/**
 * The task list's filter as the operator set it: state, agent, schedule, created between {@code
 * from} and {@code to} (UTC), text in input or metadata, and the keyset cursor. Read from query or
 * form parameters; a value that doesn't parse is ignored and reported back.
 */
record TaskQuery(
        TaskState state,
        String agent,
        String schedule,
        Instant from,
        Instant to,
        String text,
        UUID before,
        List<String> problems) {

    static final int PAGE = 50;

    static TaskQuery from(Function<String, String> params) {
        List<String> problems = new ArrayList<>();
        TaskState state = null;
        String rawState = blankToNull(params.apply("state"));
        if (rawState != null) {
            state = TaskState.fromWire(rawState).orElse(null);
            if (state == null) {
                problems.add("unknown state '" + rawState + "'");
            }
        }
        UUID before = null;
        String cursor = blankToNull(params.apply("cursor"));
        if (cursor != null) {
            try {
                before = UUID.fromString(cursor);
            } catch (IllegalArgumentException e) {
                problems.add("the page cursor is not valid; showing the first page");
            }
        }
        String text = blankToNull(params.apply("q"));
        if (text != null && text.length() > 200) {
            text = text.substring(0, 200);
        }
        return new TaskQuery(
                state,
                blankToNull(params.apply("agent")),
                blankToNull(params.apply("schedule")),
                time(params.apply("from"), "from", problems),
                time(params.apply("to"), "to", problems),
                text,
                before,
                List.copyOf(problems));
    }

    /**
     * Accepts what a datetime-local input sends ("2026-11-21T08:20", read as UTC) or an ISO
     * instant.
     */
    private static Instant time(String raw, String field, List<String> problems) {
        String value = blankToNull(raw);
        if (value == null) {
            return null;
        }
        try {
            return value.endsWith("Z")
                    ? Instant.parse(value)
                    : LocalDateTime.parse(value).toInstant(ZoneOffset.UTC);
        } catch (DateTimeParseException e) {
            problems.add("'" + field + "' is not a date and time such as 2026-11-21T08:20");
            return null;
        }
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.trim();
    }

    /** The filter (without the cursor) as form fields, for hidden inputs and links. */
    Map<String, String> fields() {
        Map<String, String> fields = new LinkedHashMap<>();
        fields.put("state", state == null ? "" : state.wire());
        fields.put("agent", agent == null ? "" : agent);
        fields.put("schedule", schedule == null ? "" : schedule);
        fields.put(
                "from",
                from == null ? "" : LocalDateTime.ofInstant(from, ZoneOffset.UTC).toString());
        fields.put("to", to == null ? "" : LocalDateTime.ofInstant(to, ZoneOffset.UTC).toString());
        fields.put("q", text == null ? "" : text);
        return fields;
    }

    /** The filter as a query string (without the cursor), for links to the next page and back. */
    String queryString() {
        StringBuilder out = new StringBuilder();
        fields().forEach(
                        (k, v) -> {
                            if (!v.isEmpty()) {
                                out.append(out.length() == 0 ? "" : "&")
                                        .append(k)
                                        .append('=')
                                        .append(URLEncoder.encode(v, StandardCharsets.UTF_8));
                            }
                        });
        return out.toString();
    }

    /**
     * This filter for the task store: one page from the cursor, or {@code limit} ids of the whole
     * filtered set.
     */
    TaskFilter filter(UUID before, int limit) {
        return new TaskFilter(state, agent, schedule, from, to, text, before, limit, null);
    }
}
