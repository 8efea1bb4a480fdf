package dev.pulse.server.dashboard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.api.PathIds;
import dev.pulse.workers.callbacks.CallbackDeliveries;
import dev.pulse.workers.flow.WaitingReasons;
import dev.pulse.workers.keys.Scope;
import dev.pulse.workers.tasks.CancelOutcome;
import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskAttempt;
import dev.pulse.workers.tasks.TaskStore;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * {@code /dashboard/tasks/{id}}: input, result or error, every attempt, callback deliveries, and
 * the actions retry, cancel, redeliver a callback and copy as curl.
 */
final class TaskDetailPage {

    private final TaskStore tasks;
    private final WaitingReasons waiting;
    private final CallbackDeliveries deliveries;
    private final Templates templates;
    private final ObjectMapper json;
    private final Runnable workerWakeUp;
    private final Clock clock;

    TaskDetailPage(
            TaskStore tasks,
            WaitingReasons waiting,
            CallbackDeliveries deliveries,
            Templates templates,
            ObjectMapper json,
            Runnable workerWakeUp,
            Clock clock) {
        this.tasks = tasks;
        this.waiting = waiting;
        this.deliveries = deliveries;
        this.templates = templates;
        this.json = json;
        this.workerWakeUp = workerWakeUp;
        this.clock = clock;
    }

    void register(RoutesConfig routes) {
        routes.get(TasksPage.PATH + "/{id}", this::show, DashboardRole.SIGNED_IN);
        routes.post(TasksPage.PATH + "/{id}/retry", this::retry, DashboardRole.SIGNED_IN);
        routes.post(TasksPage.PATH + "/{id}/cancel", this::cancel, DashboardRole.SIGNED_IN);
        routes.post(
                Dashboard.ROOT + "/callbacks/{id}/redeliver",
                this::redeliver,
                DashboardRole.SIGNED_IN);
    }

    private void show(Context ctx) {
        Task task = find(ctx);
        Instant now = clock.instant();
        Map<String, Object> model = new HashMap<>(TaskViews.row(task, now));
        model.put("nav", "tasks");
        model.put("input", Formats.json(json, task.input()));
        model.put(
                "metadata",
                task.metadata() == null || task.metadata().isEmpty()
                        ? null
                        : Formats.json(json, task.metadata()));
        model.put("result", Formats.json(json, task.result()));
        model.put("error", Formats.json(json, task.error()));
        model.put("callbackUrl", task.callbackUrl());
        model.put("priority", task.priority());
        model.put("timeout", task.timeoutSeconds() + " s");
        model.put("runAt", Formats.time(task.runAt()));
        model.put("startedAt", Formats.time(task.startedAt()));
        model.put("finishedAt", Formats.time(task.finishedAt()));
        model.put("idempotencyKey", task.idempotencyKey());
        model.put("concurrencyKey", task.concurrencyKey());
        waiting.of(task)
                .ifPresent(
                        w -> {
                            model.put("waitingReason", w.reason().wire());
                            model.put("waitingUntil", Formats.time(w.until()));
                        });
        model.put("cancelRequested", task.cancelRequestedAt() != null);
        model.put("retryable", TasksPage.RETRYABLE.contains(task.state()));
        model.put("cancellable", !task.state().isTerminal());
        List<TaskAttempt> attempts = tasks.attempts(task.id());
        model.put("attemptCount", task.attempts() + " of at most " + task.maxAttempts());
        model.put(
                "attemptRows",
                attempts.stream().map(a -> attempt(a, task, attempts.size(), now)).toList());
        model.put(
                "deliveries",
                deliveries.forTask(task.id()).stream().map(d -> delivery(d, now)).toList());
        model.put(
                "curl",
                CurlCommand.of(
                        json,
                        task,
                        ctx.scheme()
                                + "://"
                                + Optional.ofNullable(ctx.host()).orElse("localhost:8080")));
        String done = ctx.queryParam("done");
        if (done != null) {
            model.put(
                    "notice",
                    switch (done) {
                        case "retried" -> "Queued again.";
                        case "cancelled" -> "Cancelled.";
                        case "cancel-requested" ->
                                "Its worker was asked to stop it; it will be cancelled within a heartbeat.";
                        case "redelivered" -> "The callback will be sent again shortly.";
                        default -> null;
                    });
        }
        templates.render(ctx, "task", model);
    }

    private Map<String, Object> attempt(TaskAttempt a, Task task, int count, Instant now) {
        Map<String, Object> row = new HashMap<>();
        row.put("attempt", a.attempt());
        row.put("node", a.node());
        row.put("startedAt", Formats.time(a.startedAt()));
        row.put(
                "took",
                a.finishedAt() == null
                        ? "running for " + Formats.between(a.startedAt(), now)
                        : Formats.between(a.startedAt(), a.finishedAt()));
        row.put("outcome", a.outcome() == null ? "running" : a.outcome());
        row.put("error", Formats.json(json, a.error()));
        row.put("logs", a.logs() == null || a.logs().isBlank() ? null : a.logs());
        // Token usage is reported in an LLM agent's result, so it belongs to the attempt that
        // produced the result.
        boolean producedResult = "succeeded".equals(a.outcome()) && a.attempt() == task.attempts();
        row.put("usage", producedResult ? usage(task.result()) : null);
        return row;
    }

    private static String usage(JsonNode result) {
        JsonNode usage = result == null ? null : result.path("usage");
        if (usage == null || !usage.isObject()) {
            return null;
        }
        return usage.path("input_tokens").asText("?")
                + " in / "
                + usage.path("output_tokens").asText("?")
                + " out"
                + (usage.has("total_tokens")
                        ? " (" + usage.path("total_tokens").asText() + " total)"
                        : "");
    }

    static Map<String, Object> delivery(CallbackDeliveries.Delivery d, Instant now) {
        Map<String, Object> row = new HashMap<>();
        row.put("id", d.id().toString());
        // An operator alert has no task.
        row.put("taskId", d.taskId() == null ? null : d.taskId().toString());
        row.put("event", d.eventType());
        row.put("url", d.url());
        row.put("state", d.state());
        row.put("attempts", d.attempts());
        row.put("status", d.lastStatus() == null ? "–" : d.lastStatus().toString());
        row.put("error", d.lastError() == null ? "" : d.lastError());
        row.put("created", Formats.relative(d.createdAt(), now));
        row.put(
                "next",
                d.state().equals("pending") ? Formats.relative(d.nextAttemptAt(), now) : "");
        return row;
    }

    private void retry(Context ctx) {
        DashboardGuard.operator(ctx).require(Scope.TASKS_WRITE);
        Task task = find(ctx);
        if (tasks.retry(task.id(), 1).isEmpty()) {
            throw new DashboardException(
                    409,
                    "task is "
                            + task.state().wire()
                            + "; only a failed or cancelled task can be retried");
        }
        workerWakeUp.run();
        ctx.redirect(TasksPage.PATH + "/" + task.id() + "?done=retried", HttpStatus.SEE_OTHER);
    }

    private void cancel(Context ctx) {
        DashboardGuard.operator(ctx).require(Scope.TASKS_WRITE);
        Task task = find(ctx);
        CancelOutcome outcome = tasks.cancel(task.id());
        String done;
        if (outcome instanceof CancelOutcome.Cancelled) {
            done = "cancelled";
        } else if (outcome instanceof CancelOutcome.Requested) {
            done = "cancel-requested";
        } else {
            throw new DashboardException(
                    409,
                    "task is already finished; only a scheduled, queued or running task can be cancelled");
        }
        ctx.redirect(TasksPage.PATH + "/" + task.id() + "?done=" + done, HttpStatus.SEE_OTHER);
    }

    private void redeliver(Context ctx) {
        DashboardGuard.operator(ctx).require(Scope.TASKS_WRITE);
        UUID id =
                PathIds.parse(ctx.pathParam("id"))
                        .orElseThrow(
                                () -> DashboardException.notFound("no such callback delivery"));
        UUID taskId =
                deliveries
                        .redeliver(id)
                        .map(CallbackDeliveries.Delivery::taskId)
                        .orElseThrow(
                                () -> DashboardException.notFound("no such callback delivery"));
        String back = ctx.formParam("return_to");
        if (back != null && back.equals(Dashboard.ROOT + "/callbacks")) {
            ctx.redirect(back + "?done=redelivered", HttpStatus.SEE_OTHER);
        } else {
            ctx.redirect(TasksPage.PATH + "/" + taskId + "?done=redelivered", HttpStatus.SEE_OTHER);
        }
    }

    private Task find(Context ctx) {
        String raw = ctx.pathParam("id");
        return PathIds.parse(raw)
                .flatMap(tasks::find)
                .orElseThrow(() -> DashboardException.notFound("no task with id " + raw));
    }
}
