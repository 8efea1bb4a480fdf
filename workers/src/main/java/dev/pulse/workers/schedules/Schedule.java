package dev.pulse.workers.schedules;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.time.ZoneId;
import java.util.UUID;

/** A stored schedule. */
public record Schedule(
        UUID id,
        ScheduleDefinition definition,
        Instant firedThrough,
        Instant createdAt,
        Instant updatedAt) {

    public String name() {
        return definition.name();
    }

    public CronSpec cron() {
        return definition.cron();
    }

    public ZoneId timezone() {
        return definition.timezone();
    }

    public DstPolicy dst() {
        return definition.dst();
    }

    public JsonNode input() {
        return definition.input();
    }
}
