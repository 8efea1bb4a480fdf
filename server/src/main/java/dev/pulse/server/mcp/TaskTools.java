package dev.pulse.server.mcp;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.server.api.tasks.TaskOperations;
import dev.pulse.server.keys.ApiKeyAuth;
import dev.pulse.workers.keys.Scope;
import dev.pulse.workers.tasks.CancelOutcome;
import dev.pulse.workers.tasks.Task;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * The task tools, each the twin of a task route: {@code queue_task} (POST /v1/tasks), {@code
 * get_task} and {@code wait_for_task} (GET /v1/tasks/{id}), {@code list_tasks} (GET /v1/tasks),
 * {@code cancel_task} (POST /v1/tasks/{id}/cancel). They call the same {@link TaskOperations}.
 */
final class TaskTools {

    static final int MAX_WAIT_SECONDS = 60;

    /**
     * Short enough for MCP clients' usual request timeout (the Java SDK's default is 20 s); a
     * longer wait is asked for explicitly.
     */
    static final int DEFAULT_WAIT_SECONDS = 15;

    private final TaskOperations tasks;
    private final TaskWaiter waiter;
    private final ObjectMapper json;

    TaskTools(TaskOperations tasks, ObjectMapper json) {
        this.tasks = tasks;
        this.waiter = new TaskWaiter(tasks);
        this.json = json;
    }

    List<PulseTool> tools() {
        return List.of(queueTask(), getTask(), listTasks(), cancelTask(), waitForTask());
    }

    private PulseTool queueTask() {
        return new PulseTool(
                "queue_task",
                "Queue a run of an agent (as POST /v1/tasks). It runs as soon as a worker is free,"
                        + " after `delay`, or at `run_at`. Returns the task: follow it with"
                        + " wait_for_task or get_task. With an `idempotency_key`, a repeat returns"
                        + " the first task instead of queueing another. A `budget` caps what"
                        + " the run may spend. Other fields of POST"
                        + " /v1/tasks (max_attempts, timeout_seconds, retry, delay_seconds) are"
                        + " taken too.",
                Scope.TASKS_WRITE,
                InputSchema.object(json)
                        .string("agent", "The agent to run (list_agents lists them).")
                        .object("input", "The agent's input, a JSON object (default {}).")
                        .string(
                                "delay",
                                "Run after this long: 90s, 5m, 2h30m, 1d or ISO 8601 PT5M.")
                        .string(
                                "run_at",
                                "Run at this time: RFC 3339 (2026-11-21T09:30:00Z) or a phrase"
                                        + " read in `timezone`: 'in 10 minutes', 'tomorrow 9am',"
                                        + " 'next monday 9am', 'friday 18:00'.")
                        .string(
                                "timezone",
                                "IANA time zone `run_at` phrases are read in, e.g."
                                        + " Europe/Paris (default UTC).")
                        .string(
                                "callback_url",
                                "An http(s) URL the result is POSTed to, signed per Standard"
                                        + " Webhooks.")
                        .object("metadata", "Your own JSON object, kept with the task.")
                        .integer(
                                "priority",
                                -1000,
                                1000,
                                "Higher runs first among due tasks (default 0).")
                        .string(
                                "idempotency_key",
                                "Up to 255 characters; a repeat with the same key returns the"
                                        + " first task.")
                        .string(
                                "concurrency_key",
                                "Whose task this is (a tenant, a customer), up to 200 characters:"
                                        + " claims rotate fairly across keys, and an agent's"
                                        + " per-key limits count per key.")
                        .object(
                                "budget",
                                "What this run may spend: {max_tokens, max_cost_usd,"
                                        + " max_duration}, each optional (e.g. {\"max_tokens\":"
                                        + " 2000, \"max_duration\": \"30s\"}). A run that goes"
                                        + " over fails with error code budget_exceeded, its usage"
                                        + " and result kept.")
                        .required("agent")
                        .build(),
                call ->
                        tasks.toJson(
                                tasks.queue(
                                                call.arguments(),
                                                null,
                                                ApiKeyAuth.ownerOf(call.key()),
                                                call.trace())
                                        .task()));
    }

    private PulseTool getTask() {
        return new PulseTool(
                "get_task",
                "A task by id (as GET /v1/tasks/{id}): its state (scheduled, queued, running,"
                        + " succeeded, failed, cancelled), input, result or error, attempts.",
                Scope.TASKS_READ,
                idOnly("The task's id, as queue_task returned it."),
                call ->
                        tasks.toJson(
                                tasks.find(
                                        new Arguments(call.arguments(), Set.of("id")).taskId())));
    }

    private PulseTool listTasks() {
        return new PulseTool(
                "list_tasks",
                "Tasks, newest first (as GET /v1/tasks), filtered by state, agent, schedule or"
                        + " concurrency key."
                        + " When `next_cursor` is not null, pass it as `cursor` for the next page.",
                Scope.TASKS_READ,
                InputSchema.object(json)
                        .string(
                                "state",
                                "scheduled, queued, running, succeeded, failed or cancelled.")
                        .string("agent", "Only this agent's tasks.")
                        .string("schedule", "Only tasks queued by this schedule.")
                        .string("concurrency_key", "Only tasks with this concurrency key.")
                        .integer("limit", 1, 500, "Page size (default 50).")
                        .string("cursor", "The `next_cursor` of the previous page.")
                        .closed()
                        .build(),
                call -> {
                    Arguments arguments =
                            new Arguments(
                                    call.arguments(),
                                    Set.of(
                                            "state",
                                            "agent",
                                            "schedule",
                                            "concurrency_key",
                                            "limit",
                                            "cursor"));
                    return tasks.toJson(
                            tasks.list(
                                    arguments.text("state"),
                                    arguments.text("agent"),
                                    arguments.text("schedule"),
                                    arguments.text("concurrency_key"),
                                    arguments.text("cursor"),
                                    arguments.text("limit")));
                });
    }

    private PulseTool cancelTask() {
        return new PulseTool(
                "cancel_task",
                "Cancel a task (as POST /v1/tasks/{id}/cancel): a waiting task is cancelled at"
                        + " once; a running one is asked to stop (its state becomes cancelled"
                        + " within a heartbeat). An error if it already ended.",
                Scope.TASKS_WRITE,
                idOnly("The task's id."),
                call -> {
                    CancelOutcome outcome =
                            tasks.cancel(new Arguments(call.arguments(), Set.of("id")).taskId());
                    Task task =
                            outcome instanceof CancelOutcome.Requested r
                                    ? r.task()
                                    : ((CancelOutcome.Cancelled) outcome).task();
                    return tasks.toJson(task);
                });
    }

    private PulseTool waitForTask() {
        return new PulseTool(
                "wait_for_task",
                "Wait until a task ends (succeeded, failed or cancelled) or `timeout_seconds` is"
                        + " up, then return it as get_task does: if its state is still scheduled,"
                        + " queued or running, the time was up; call again to wait longer.",
                Scope.TASKS_READ,
                InputSchema.object(json)
                        .string("id", "The task's id.")
                        .integer(
                                "timeout_seconds",
                                1,
                                MAX_WAIT_SECONDS,
                                "How long to wait at most (default "
                                        + DEFAULT_WAIT_SECONDS
                                        + ", at most "
                                        + MAX_WAIT_SECONDS
                                        + ").")
                        .required("id")
                        .closed()
                        .build(),
                call -> {
                    Arguments arguments =
                            new Arguments(call.arguments(), Set.of("id", "timeout_seconds"));
                    int seconds =
                            arguments.integer(
                                    "timeout_seconds", 1, MAX_WAIT_SECONDS, DEFAULT_WAIT_SECONDS);
                    return tasks.toJson(
                            waiter.await(arguments.taskId(), Duration.ofSeconds(seconds)));
                });
    }

    private ObjectNode idOnly(String description) {
        return InputSchema.object(json).string("id", description).required("id").closed().build();
    }
}
