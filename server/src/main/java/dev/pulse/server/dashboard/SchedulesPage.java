package dev.pulse.server.dashboard;

import dev.pulse.workers.keys.Scope;
import dev.pulse.workers.schedules.Bounds;
import dev.pulse.workers.schedules.DstPolicy;
import dev.pulse.workers.schedules.Schedule;
import dev.pulse.workers.schedules.ScheduleDefinition;
import dev.pulse.workers.schedules.ScheduleFirer;
import dev.pulse.workers.schedules.ScheduleStore;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code /dashboard/schedules}: each schedule's cron, time zone, next fire times (in its zone) and
 * last runs with their outcome; pause, resume and trigger now, as the API does them.
 */
final class SchedulesPage {

    static final String PATH = Dashboard.ROOT + "/schedules";
    private static final DateTimeFormatter IN_ZONE =
            DateTimeFormatter.ofPattern("EEE yyyy-MM-dd HH:mm z", Locale.ROOT);

    private final ScheduleStore schedules;
    private final ScheduleFirer firer;
    private final Runnable changed;
    private final Templates templates;
    private final Clock clock;

    SchedulesPage(
            ScheduleStore schedules,
            ScheduleFirer firer,
            Runnable changed,
            Templates templates,
            Clock clock) {
        this.schedules = schedules;
        this.firer = firer;
        this.changed = changed;
        this.templates = templates;
        this.clock = clock;
    }

    void register(RoutesConfig routes) {
        routes.get(PATH, this::list, DashboardRole.SIGNED_IN);
        routes.post(PATH + "/{name}/pause", ctx -> setEnabled(ctx, false), DashboardRole.SIGNED_IN);
        routes.post(PATH + "/{name}/resume", ctx -> setEnabled(ctx, true), DashboardRole.SIGNED_IN);
        routes.post(PATH + "/{name}/trigger", this::trigger, DashboardRole.SIGNED_IN);
    }

    private void list(Context ctx) {
        Instant now = clock.instant();
        List<Schedule> all = schedules.list();
        Map<String, List<ScheduleStore.Fire>> fires = schedules.recentFiresOfAll(5);
        List<Map<String, Object>> rows =
                all.stream()
                        .map(s -> row(s, fires.getOrDefault(s.name(), List.of()), now))
                        .toList();
        Map<String, Object> model = new HashMap<>();
        model.put("nav", "schedules");
        model.put("schedules", rows);
        String done = ctx.queryParam("done");
        String name = ctx.queryParam("name");
        if (done != null && name != null && all.stream().anyMatch(s -> s.name().equals(name))) {
            model.put(
                    "notice",
                    switch (done) {
                        case "paused" -> "Paused " + name + ".";
                        case "resumed" -> "Resumed " + name + ".";
                        case "enqueued" -> "Triggered " + name + ": a task was queued.";
                        case "waiting" ->
                                "Triggered "
                                        + name
                                        + ": the run waits for the previous one (overlap: queue).";
                        case "skipped_overlap" ->
                                "Triggered "
                                        + name
                                        + ": skipped, the previous run is still going (overlap: skip).";
                        default -> "Triggered " + name + ".";
                    });
        }
        templates.render(ctx, "schedules", model);
    }

    /** "3 times, from …, until …" in the schedule's zone; empty when unbounded. */
    private static String bounds(Schedule s) {
        Bounds b = s.definition().bounds();
        List<String> parts = new java.util.ArrayList<>();
        if (b.times() != null) {
            parts.add(b.times() + (b.times() == 1 ? " time" : " times"));
        }
        if (b.startAt() != null) {
            parts.add("from " + IN_ZONE.format(ZonedDateTime.ofInstant(b.startAt(), s.timezone())));
        }
        if (b.until() != null) {
            parts.add("until " + IN_ZONE.format(ZonedDateTime.ofInstant(b.until(), s.timezone())));
        }
        return String.join(", ", parts);
    }

    private Map<String, Object> row(Schedule s, List<ScheduleStore.Fire> recentFires, Instant now) {
        Map<String, Object> row = new HashMap<>();
        row.put("name", s.name());
        row.put("timing", s.definition().timing());
        row.put("state", ScheduleDefinition.wire(s.state()));
        row.put("bounds", bounds(s));
        row.put("timezone", s.timezone().getId());
        row.put("agent", s.definition().agent());
        row.put("enabled", s.definition().enabled());
        row.put(
                "dst",
                s.cron() == null
                        ? "none: a fixed interval"
                        : s.cron().periodic()
                                ? "every real hour"
                                : "gap: "
                                        + DstPolicy.wire(s.dst().gap())
                                        + ", repeat: "
                                        + DstPolicy.wire(s.dst().repeat()));
        row.put("overlap", s.definition().overlap().name().toLowerCase(Locale.ROOT));
        row.put(
                "next",
                s.state() == Schedule.State.ACTIVE
                        ? s.nextFireTimes(now, 3).stream()
                                .map(
                                        t ->
                                                IN_ZONE.format(
                                                                ZonedDateTime.ofInstant(
                                                                        t, s.timezone()))
                                                        + " ("
                                                        + Formats.relative(t, now)
                                                        + ")")
                                .toList()
                        : List.of());
        row.put(
                "fires",
                recentFires.stream()
                        .map(
                                f -> {
                                    Map<String, Object> fire = new HashMap<>();
                                    fire.put("time", Formats.relative(f.fireTime(), now));
                                    fire.put("outcome", f.outcome());
                                    fire.put(
                                            "taskId",
                                            f.taskId() == null ? null : f.taskId().toString());
                                    fire.put(
                                            "taskState",
                                            f.taskState() == null ? "" : f.taskState());
                                    return fire;
                                })
                        .toList());
        return row;
    }

    private void setEnabled(Context ctx, boolean enabled) {
        DashboardGuard.operator(ctx).require(Scope.SCHEDULES_WRITE);
        String name = ctx.pathParam("name");
        schedules
                .setEnabled(name, enabled)
                .orElseThrow(() -> DashboardException.notFound("no schedule named " + name));
        changed.run();
        back(ctx, enabled ? "resumed" : "paused", name);
    }

    private void trigger(Context ctx) {
        DashboardGuard.operator(ctx).require(Scope.SCHEDULES_WRITE);
        String name = ctx.pathParam("name");
        ScheduleFirer.Fired fired =
                firer.triggerNow(name)
                        .orElseThrow(
                                () -> DashboardException.notFound("no schedule named " + name));
        back(ctx, fired.outcome().name().toLowerCase(Locale.ROOT), name);
    }

    private static void back(Context ctx, String done, String name) {
        ctx.redirect(
                PATH + "?done=" + done + "&name=" + URLEncoder.encode(name, StandardCharsets.UTF_8),
                HttpStatus.SEE_OTHER);
    }
}
