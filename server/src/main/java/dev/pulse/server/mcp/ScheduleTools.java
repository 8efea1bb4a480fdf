package dev.pulse.server.mcp;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.api.schedules.ScheduleOperations;
import dev.pulse.workers.keys.Scope;
import java.util.List;
import java.util.Set;

/**
 * The schedule tools: {@code create_schedule} (POST /v1/schedules, the same parser) and {@code
 * list_schedules} (GET /v1/schedules).
 */
final class ScheduleTools {

    private final ScheduleOperations schedules;
    private final ObjectMapper json;

    ScheduleTools(ScheduleOperations schedules, ObjectMapper json) {
        this.schedules = schedules;
        this.json = json;
    }

    List<PulseTool> tools() {
        return List.of(createSchedule(), listSchedules());
    }

    private PulseTool createSchedule() {
        return new PulseTool(
                "create_schedule",
                "Create a schedule that queues a run of an agent on a cron expression or every"
                        + " fixed interval (as POST /v1/schedules); `times` stops it after that"
                        + " many runs. An error if the name is taken. Other fields of POST"
                        + " /v1/schedules (metadata, callback_url, misfire, overlap, enabled,"
                        + " start_at, until) are taken too.",
                Scope.SCHEDULES_WRITE,
                InputSchema.object(json)
                        .string("name", "A unique name: letters, digits, '-', '_' and '.'.")
                        .string(
                                "cron",
                                "A cron expression, e.g. '0 9 * * 1-5' (9:00 on weekdays) or"
                                        + " '@hourly'. Give cron or every.")
                        .string(
                                "every",
                                "An interval of at least 1s instead of cron: 90s, 10m, 2h30m,"
                                        + " 1d or ISO 8601 PT10M.")
                        .string(
                                "timezone",
                                "IANA time zone the cron (and start_at/until phrases such as"
                                        + " 'tomorrow 9am') are read in, e.g. Europe/Paris (default"
                                        + " UTC).")
                        .string("agent", "The agent each run queues (list_agents lists them).")
                        .object("input", "The input of every run, a JSON object (default {}).")
                        .integer("times", "Run this many times, then the schedule is completed.")
                        .required("name", "agent")
                        .build(),
                call -> schedules.create(call.arguments()));
    }

    private PulseTool listSchedules() {
        return new PulseTool(
                "list_schedules",
                "Every schedule (as GET /v1/schedules): its cron or interval, agent, input,"
                        + " whether it is enabled and when it next fires.",
                Scope.SCHEDULES_READ,
                InputSchema.object(json).closed().build(),
                call -> {
                    new Arguments(call.arguments(), Set.of());
                    return schedules.list();
                });
    }
}
