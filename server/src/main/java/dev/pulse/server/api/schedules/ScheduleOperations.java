package dev.pulse.server.api.schedules;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.server.api.Problem;
import dev.pulse.server.api.ProblemException;
import dev.pulse.workers.schedules.Schedule;
import dev.pulse.workers.schedules.ScheduleDefinition;
import dev.pulse.workers.schedules.ScheduleParser;
import dev.pulse.workers.schedules.ScheduleStore;
import java.time.Clock;

/**
 * What {@code POST /v1/schedules} and {@code GET /v1/schedules} do once the request is read, for
 * the REST routes and the MCP tools alike: the same parser, store and JSON.
 */
public final class ScheduleOperations {

    private final ScheduleStore store;
    private final ScheduleParser parser;
    private final ScheduleJson scheduleJson;
    private final Runnable changed;

    /**
     * @param changed told after every change, so schedulers pick it up at once
     */
    public ScheduleOperations(
            ScheduleStore store,
            ScheduleParser parser,
            ObjectMapper json,
            Clock clock,
            Runnable changed) {
        this.store = store;
        this.parser = parser;
        this.scheduleJson = new ScheduleJson(json, clock);
        this.changed = changed;
    }

    /**
     * Creates the schedule a {@code POST /v1/schedules} body describes and returns it as the API
     * shows it; a 422 problem naming every bad field, 409 when the name is taken.
     */
    public ObjectNode create(JsonNode body) {
        ScheduleDefinition definition = parse(body, null);
        if (store.find(definition.name()).isPresent()) {
            throw new ProblemException(
                    Problem.conflict(
                            "schedule '"
                                    + definition.name()
                                    + "' exists; change it with PUT /v1/schedules/"
                                    + definition.name()));
        }
        ScheduleStore.Saved saved = store.save(definition);
        changed.run();
        return detail(saved.schedule());
    }

    /** Every schedule, as {@code GET /v1/schedules} lists them: {@code {"items": [...]}}. */
    public ObjectNode list() {
        ObjectNode body = scheduleJson.mapper().createObjectNode();
        ArrayNode items = body.putArray("items");
        store.list().forEach(s -> items.add(scheduleJson.summary(s)));
        return body;
    }

    ObjectNode detail(Schedule schedule) {
        return scheduleJson.detail(schedule, store.recentFires(schedule.name(), 10));
    }

    /** A schedule definition, or a 422 problem naming every bad field. */
    ScheduleDefinition parse(JsonNode body, String nameFromPath) {
        ScheduleParser.Parsed parsed = parser.parse(body, nameFromPath);
        if (!parsed.errors().isEmpty()) {
            throw new ProblemException(Problem.invalid(422, parsed.errors()));
        }
        return parsed.schedule();
    }
}
