package dev.pulse.server.api.tasks;

import dev.pulse.server.api.JsonContentType;
import dev.pulse.server.api.JsonResponses;
import dev.pulse.server.api.PathIds;
import dev.pulse.server.api.Problem;
import dev.pulse.server.api.ProblemException;
import dev.pulse.server.keys.ApiKeyAuth;
import dev.pulse.server.keys.ScopeRole;
import dev.pulse.workers.keys.ApiKey;
import dev.pulse.workers.keys.Scope;
import dev.pulse.workers.nodes.RemoteWorkers;
import dev.pulse.workers.queue.ClaimedTask;
import dev.pulse.workers.queue.RemoteWork;
import dev.pulse.workers.queue.ReportGroups;
import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskJson;
import dev.pulse.workers.tasks.TaskReadGroups;
import dev.pulse.workers.tasks.TaskState;
import dev.pulse.workers.tasks.TaskStore;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * {@code POST /v1/tasks/{id}/complete}: an asynchronous agent reports the result of the attempt it
 * was started for. The report is recorded through the same fenced update as a worker's result, so
 * only the attempt that still holds the lease token can complete the task; a late report (the
 * attempt timed out, was cancelled or rescued) is refused with 409 and changes nothing. Remote
 * workers report here too, with a {@code tasks:work} key.
 */
public final class ReportRoutes {

    private final TaskStore store;
    private final TaskReadGroups reads;
    private final ReportGroups reports;
    private final RemoteWork remoteWork;
    private final RemoteWorkers remoteWorkers;
    private final ReportParser parser;
    private final TaskJson taskJson;
    private final JsonResponses responses;

    public ReportRoutes(
            TaskStore store,
            TaskReadGroups reads,
            ReportGroups reports,
            RemoteWork remoteWork,
            RemoteWorkers remoteWorkers,
            TaskJson taskJson,
            JsonResponses responses) {
        this.store = store;
        this.reads = reads;
        this.reports = reports;
        this.remoteWork = remoteWork;
        this.remoteWorkers = remoteWorkers;
        this.parser = new ReportParser(responses.mapper());
        this.taskJson = taskJson;
        this.responses = responses;
    }

    public void register(RoutesConfig routes) {
        routes.post("/v1/tasks/{id}/complete", this::complete, ScopeRole.of(Scope.TASKS_COMPLETE));
    }

    private void complete(Context ctx) {
        UUID id =
                PathIds.of(
                        ctx,
                        "no task with id '%s': use the task id from the Pulse-Task-Id header you were sent");
        ReportParser.Report report = parser.parse(JsonContentType.body(ctx));
        TaskStore.Leased leased =
                reads.findLeased(id)
                        .orElseThrow(
                                () ->
                                        new ProblemException(
                                                Problem.notFound("no task with id " + id)));
        Task task = leased.task();
        ClaimedTask attempt =
                new ClaimedTask(
                        task, report.leaseToken(), leased.leaseOwner(), leased.attemptStartedAt());
        String worker = RemoteWorkers.workerOf(leased.leaseOwner());
        if (worker != null) {
            attempt = remoteAttempt(ctx, worker, attempt, report);
        }
        Optional<Task> recorded =
                report.error() == null
                        ? reports.succeed(attempt, report.result(), report.logs())
                        : reports.fail(attempt, report.error(), report.logs());
        Task now =
                recorded.orElseThrow(
                        () ->
                                new ProblemException(
                                        Problem.conflict(stale(store.find(id).orElse(task)))));
        responses.send(ctx, 200, TaskOperations.withLinks(taskJson, now));
    }

    /**
     * A remote worker's report needs {@code tasks:work}; one that comes after the task's timeout is
     * recorded as a timeout failure instead (nothing on a node watched the attempt's time).
     */
    private ClaimedTask remoteAttempt(
            Context ctx, String worker, ClaimedTask attempt, ReportParser.Report report) {
        ApiKey key = ApiKeyAuth.keyOf(ctx).orElseThrow();
        if (!key.allows(Scope.TASKS_WORK)) {
            throw new ProblemException(
                    new Problem(
                            "/problems/forbidden",
                            "Forbidden",
                            403,
                            "key '"
                                    + key.name()
                                    + "' lacks the scope tasks:work that reports of remote workers need",
                            List.of()));
        }
        remoteWorkers.seen(worker, key.name());
        RemoteWork.Holder holder = remoteWork.holder(attempt.id(), attempt.leaseToken());
        if (holder instanceof RemoteWork.Holder.TimedOut t) {
            throw new ProblemException(
                    Problem.conflict(
                            "the attempt ran past the task's timeout of "
                                    + t.timeoutSeconds()
                                    + " s, so it was recorded as a timeout failure and this report is not"));
        }
        if (holder instanceof RemoteWork.Holder.Held h) {
            return h.attempt();
        }
        remoteWork.late(attempt.id(), attempt.leaseToken(), report.logs());
        throw new ProblemException(
                Problem.conflict(stale(store.find(attempt.id()).orElse(attempt.task()))));
    }

    private static String stale(Task task) {
        String state =
                task.state() == TaskState.RUNNING ? "running another attempt" : task.state().wire();
        return "this lease token no longer holds the task (it is "
                + state
                + "): the attempt it was sent for timed out,"
                + " was cancelled or was taken over, so its report is not recorded";
    }
}
