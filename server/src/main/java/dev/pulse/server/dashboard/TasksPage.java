package dev.pulse.server.dashboard;

import dev.pulse.workers.keys.Scope;
import dev.pulse.workers.tasks.CancelOutcome;
import dev.pulse.workers.tasks.TaskPage;
import dev.pulse.workers.tasks.TaskState;
import dev.pulse.workers.tasks.TaskStore;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import java.time.Clock;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * {@code /dashboard/tasks}: the filtered task list with keyset pages, and bulk retry or cancel of
 * the filtered set (at most {@link #BULK_LIMIT} tasks at a time) after a confirmation page that
 * says how many tasks it will touch.
 */
final class TasksPage {

    static final String PATH = Dashboard.ROOT + "/tasks";

    static final int BULK_LIMIT = 1000;
    static final List<TaskState> RETRYABLE = List.of(TaskState.FAILED, TaskState.CANCELLED);
    private static final List<TaskState> CANCELLABLE =
            List.of(TaskState.SCHEDULED, TaskState.QUEUED, TaskState.RUNNING);

    private final TaskStore tasks;
    private final Templates templates;
    private final Runnable workerWakeUp;
    private final Clock clock;

    TasksPage(TaskStore tasks, Templates templates, Runnable workerWakeUp, Clock clock) {
        this.tasks = tasks;
        this.templates = templates;
        this.workerWakeUp = workerWakeUp;
        this.clock = clock;
    }

    void register(RoutesConfig routes) {
        routes.get(PATH, this::list, DashboardRole.SIGNED_IN);
        routes.post(PATH + "/bulk", this::bulk, DashboardRole.SIGNED_IN);
    }

    private void list(Context ctx) {
        TaskQuery query = TaskQuery.from(ctx::queryParam);
        TaskPage page = tasks.list(query.filter(query.before(), TaskQuery.PAGE));
        Instant now = clock.instant();
        Map<String, Object> model = new HashMap<>();
        model.put("nav", "tasks");
        model.put("filter", query.fields());
        model.put("states", Arrays.stream(TaskState.values()).map(TaskState::wire).toList());
        model.put("problems", query.problems());
        model.put("tasks", page.items().stream().map(t -> TaskViews.row(t, now)).toList());
        String qs = query.queryString();
        if (page.nextCursor() != null) {
            model.put(
                    "nextPage",
                    PATH + "?" + (qs.isEmpty() ? "" : qs + "&") + "cursor=" + page.nextCursor());
        }
        if (query.text() != null
                && page.nextCursor() != null
                && page.items().size() < TaskQuery.PAGE) {
            // A text search reads a bounded window of tasks per page; say so, and that the next
            // page goes on further back.
            model.put(
                    "searchNote",
                    "Searched the next "
                            + Formats.number(TaskStore.TEXT_WINDOW)
                            + " tasks matching the other filters; older ones may match too.");
        }
        if (query.before() != null) {
            model.put("firstPage", PATH + (qs.isEmpty() ? "" : "?" + qs));
        }
        String done = ctx.queryParam("done");
        String count = ctx.queryParam("n");
        if (("retried".equals(done) || "cancelled".equals(done))
                && count != null
                && count.matches("\\d{1,6}")) {
            model.put(
                    "notice",
                    ("retried".equals(done) ? "Queued again: " : "Cancelled or asked to stop: ")
                            + count
                            + " task(s).");
        }
        templates.render(ctx, "tasks", model);
    }

    /**
     * First POST: the confirmation page. Second POST (confirm=yes): does it and goes back to the
     * list.
     */
    private void bulk(Context ctx) {
        Operator operator = DashboardGuard.operator(ctx);
        operator.require(Scope.TASKS_WRITE);
        String action = ctx.formParam("action");
        if (!"retry".equals(action) && !"cancel".equals(action)) {
            throw new DashboardException(400, "unknown bulk action; use retry or cancel");
        }
        TaskQuery query = TaskQuery.from(ctx::formParam);
        boolean retry = action.equals("retry");
        List<TaskState> states = retry ? RETRYABLE : CANCELLABLE;
        List<UUID> ids = tasks.ids(query.filter(null, BULK_LIMIT + 1), states);
        if (!"yes".equals(ctx.formParam("confirm"))) {
            Map<String, Object> model = new HashMap<>();
            model.put("nav", "tasks");
            model.put("action", action);
            model.put("filter", query.fields());
            model.put(
                    "count",
                    ids.size() > BULK_LIMIT
                            ? Formats.number(BULK_LIMIT) + "+"
                            : Formats.number(ids.size()));
            model.put("capped", ids.size() > BULK_LIMIT);
            model.put("limit", Formats.number(BULK_LIMIT));
            model.put("none", ids.isEmpty());
            model.put("states", String.join(", ", states.stream().map(TaskState::wire).toList()));
            model.put(
                    "back",
                    PATH + (query.queryString().isEmpty() ? "" : "?" + query.queryString()));
            templates.render(ctx, "bulk-confirm", model);
            return;
        }
        List<UUID> chosen = ids.subList(0, Math.min(ids.size(), BULK_LIMIT));
        int done = 0;
        if (retry) {
            done = tasks.retryAll(chosen, 1);
        } else {
            // One at a time: a cancellation also ends running attempts and queues callbacks.
            for (UUID id : chosen) {
                var outcome = tasks.cancel(id);
                done +=
                        outcome instanceof CancelOutcome.Cancelled
                                        || outcome instanceof CancelOutcome.Requested
                                ? 1
                                : 0;
            }
        }
        if (retry && done > 0) {
            workerWakeUp.run();
        }
        String qs = query.queryString();
        ctx.redirect(
                PATH
                        + "?"
                        + (qs.isEmpty() ? "" : qs + "&")
                        + "done="
                        + (retry ? "retried" : "cancelled")
                        + "&n="
                        + done,
                HttpStatus.SEE_OTHER);
    }
}
