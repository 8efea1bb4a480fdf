package dev.pulse.server.api.schedules;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.workers.json.Timestamps;
import dev.pulse.workers.schedules.DstPolicy;
import dev.pulse.workers.schedules.Schedule;
import dev.pulse.workers.schedules.ScheduleDefinition;
import dev.pulse.workers.schedules.ScheduleStore;
import java.time.Clock;
import java.time.Instant;
import java.util.List;

/** The JSON form of a schedule; fire times are shown in the schedule's own time zone. */
final class ScheduleJson {

    private final ObjectMapper json;
    private final Clock clock;

    ScheduleJson(ObjectMapper json, Clock clock) {
        this.json = json;
        this.clock = clock;
    }

    ObjectMapper mapper() {
        return json;
    }

    ObjectNode summary(Schedule s) {
        ScheduleDefinition d = s.definition();
        ObjectNode node = json.createObjectNode();
        node.put("name", d.name());
        node.put("cron", d.cron() == null ? null : d.cron().original());
        node.put("quartz_cron", d.cron() == null ? null : d.cron().quartz());
        node.put("every", d.every() == null ? null : d.every().original());
        node.put("timezone", d.timezone().getId());
        node.put("agent", d.agent());
        node.set("input", d.input());
        node.set("metadata", d.metadata());
        node.put("callback_url", d.callbackUrl());
        node.put("misfire", ScheduleDefinition.wire(d.misfire()));
        node.put("catch_up_max", d.catchUpMax());
        node.put("overlap", ScheduleDefinition.wire(d.overlap()));
        node.put("enabled", d.enabled());
        node.put("state", ScheduleDefinition.wire(s.state()));
        node.put("start_at", time(s, d.bounds().startAt()));
        node.put("until", time(s, d.bounds().until()));
        if (d.bounds().times() == null) {
            node.putNull("times");
        } else {
            node.put("times", d.bounds().times());
        }
        ObjectNode dst = node.putObject("dst");
        dst.put("gap", DstPolicy.wire(d.dst().gap()));
        dst.put("repeat", DstPolicy.wire(d.dst().repeat()));
        List<Instant> next = nextFireTimes(s, 1);
        node.put("next_fire_time", next.isEmpty() ? null : local(s, next.get(0)));
        node.put("created_at", Timestamps.rfc3339(s.createdAt()));
        node.put("updated_at", Timestamps.rfc3339(s.updatedAt()));
        ObjectNode links = node.putObject("links");
        String self = "/v1/schedules/" + d.name();
        links.put("self", self);
        links.put("tasks", "/v1/tasks?schedule=" + d.name());
        return node;
    }

    ObjectNode detail(Schedule s, List<ScheduleStore.Fire> fires) {
        ObjectNode node = summary(s);
        ArrayNode next = node.putArray("next_fire_times");
        nextFireTimes(s, 5).forEach(t -> next.add(local(s, t)));
        ArrayNode recent = node.putArray("recent_fires");
        fires.forEach(
                f ->
                        recent.addObject()
                                .put("fire_time", local(s, f.fireTime()))
                                .put("outcome", f.outcome())
                                .put("task_id", f.taskId() == null ? null : f.taskId().toString())
                                .put("task_state", f.taskState()));
        return node;
    }

    private List<Instant> nextFireTimes(Schedule s, int count) {
        if (s.state() != Schedule.State.ACTIVE) {
            return List.of();
        }
        Instant now = clock.instant();
        return s.nextFireTimes(s.firedThrough().isAfter(now) ? s.firedThrough() : now, count);
    }

    private static String time(Schedule s, Instant t) {
        return t == null ? null : local(s, t);
    }

    private static String local(Schedule s, Instant t) {
        return Timestamps.rfc3339(t.atZone(s.timezone()).toOffsetDateTime());
    }
}
