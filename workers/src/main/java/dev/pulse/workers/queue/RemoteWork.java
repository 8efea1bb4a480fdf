package dev.pulse.workers.queue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.ExecutionError;
import dev.pulse.executors.agents.AgentLimits;
import dev.pulse.executors.agents.RemoteSpec;
import dev.pulse.workers.db.Columns;
import dev.pulse.workers.nodes.RemoteWorkers;
import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskRowMapper;
import dev.pulse.workers.timing.Broadcast;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Supplier;
import org.jdbi.v3.core.Jdbi;

/**
 * The queue as workers outside Pulse see it (agents of executor {@code remote}): they claim with
 * the node's own claim ({@link TaskClaimer}, narrowed to their agents and leased for each agent's
 * {@code spec.remote.lease}), keep their lease with heartbeats, and report through the same fenced
 * completion as everyone else. A worker that stops heartbeating loses its lease to the {@link
 * Rescuer}: its tasks' lease owner ({@code remote:<worker>}) is no node, so nothing keeps them once
 * the lease expires.
 *
 * <p>Nothing on a node watches a remote attempt, so what a node's runner would do on its own is
 * done when the worker next calls: a heartbeat for a task asked to cancel records the attempt
 * cancelled, and a heartbeat or report after the task's timeout records a {@code timeout} failure
 * (retried as any failure is).
 */
public final class RemoteWork {

    /**
     * Renews a remote attempt's lease for its agent's lease, unless its task is to be cancelled or
     * its time is up (those are ended instead, see {@link #heartbeat}).
     */
    static final String RENEW =
            """
            UPDATE tasks_queue t
               SET lease_expires_at = now() + make_interval(secs => COALESCE(
                       (CAST(:agent_lease_seconds AS float8[]))[array_position(CAST(:agents AS text[]), t.agent)],
                       :default_lease_seconds))
             WHERE t.id = :id AND t.state = 'running' AND t.lease_token = :token
               AND t.cancel_requested_at IS NULL
               AND t.attempt_started_at + make_interval(secs => t.timeout_seconds) > now()
            RETURNING t.lease_expires_at, t.lease_owner
            """;

    /** The attempt a lease token names, while it still holds its task. */
    static final String HELD =
            """
            SELECT t.*, t.cancel_requested_at IS NOT NULL AS cancel_requested,
                   t.attempt_started_at + make_interval(secs => t.timeout_seconds) <= now() AS timed_out,
                   now() AS database_now
              FROM tasks_queue t
             WHERE t.id = :id AND t.state = 'running' AND t.lease_token = :token
            """;

    /**
     * A report that came after its attempt lost the lease: the rescuer's row for that attempt says
     * it reported after all, as {@link TaskCompleter#RECORD_STALE} does for a node's late result.
     */
    static final String RECORD_LATE =
            """
            UPDATE task_attempts SET outcome = 'stale', logs = COALESCE(:logs, logs)
             WHERE task_id = :id AND lease_token = :token AND outcome = 'lost'
            """;

    /** What a heartbeat did. */
    public sealed interface Beat {

        /** The lease is the worker's until {@code expiresAt}. */
        record Renewed(Instant expiresAt, String worker) implements Beat {}

        /**
         * The task was asked to cancel: the attempt is recorded cancelled, and the lease ended at
         * {@code endedAt}.
         */
        record Cancelled(Instant endedAt, String worker) implements Beat {}

        /** The attempt ran past its task's timeout and is recorded as a {@code timeout} failure. */
        record TimedOut(int timeoutSeconds) implements Beat {}

        /**
         * The token no longer holds the task (it ended, was rescued or is run by another attempt).
         */
        record NotHeld() implements Beat {}
    }

    /** The attempt a report is for, when its token still holds the task and its time is not up. */
    public sealed interface Holder {

        record Held(ClaimedTask attempt) implements Holder {}

        record TimedOut(int timeoutSeconds) implements Holder {}

        record NotHeld() implements Holder {}
    }

    private record HeldRow(
            ClaimedTask attempt, boolean cancelRequested, boolean timedOut, Instant now) {}

    private final Jdbi jdbi;
    private final ObjectMapper json;
    private final TaskRowMapper mapper;
    private final TaskCompleter completer;
    private final Supplier<Map<String, AgentLimits>> agentLimits;
    private final Supplier<Map<String, Duration>> leases;
    private final Broadcast arrivals;
    private final Duration pollInterval;

    /**
     * @param leases the lease of every remote agent, by name, from the live registry
     * @param arrivals signalled when tasks may have become due (a local enqueue or a NOTIFY)
     * @param pollInterval how often a waiting claim looks again without a signal (delayed tasks
     *     coming due, retries)
     */
    public RemoteWork(
            Jdbi jdbi,
            ObjectMapper json,
            TaskCompleter completer,
            Supplier<Map<String, AgentLimits>> agentLimits,
            Supplier<Map<String, Duration>> leases,
            Broadcast arrivals,
            Duration pollInterval) {
        this.jdbi = jdbi;
        this.json = json;
        this.mapper = new TaskRowMapper(json);
        this.completer = completer;
        this.agentLimits = agentLimits;
        this.leases = leases;
        this.arrivals = arrivals;
        this.pollInterval = pollInterval;
    }

    /**
     * Claims up to {@code limit} due tasks of {@code agents} for {@code worker}, waiting up to
     * {@code wait} for one to become due: the claim is tried again at every arrival signal (and
     * every poll interval), and answered as soon as it takes something. Empty when the time is up,
     * or when the node stops meanwhile.
     */
    public List<ClaimedTask> claim(String worker, List<String> agents, int limit, Duration wait) {
        Map<String, Duration> all = leases.get();
        Map<String, Duration> theirs = new TreeMap<>();
        for (String agent : agents) {
            theirs.put(agent, all.getOrDefault(agent, RemoteSpec.DEFAULT_LEASE));
        }
        TaskClaimer claimer =
                new TaskClaimer(
                        jdbi,
                        json,
                        TaskClaimer.Settings.of(
                                        RemoteWorkers.OWNER_PREFIX + worker,
                                        RemoteSpec.DEFAULT_LEASE)
                                .withLimits(agentLimits)
                                .withAgents(() -> TaskClaimer.Agents.only(theirs)));
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            long seen = arrivals.generation();
            List<ClaimedTask> claimed = claimer.claim(limit);
            long left = deadline - System.nanoTime();
            if (!claimed.isEmpty() || left <= 0) {
                return claimed;
            }
            try {
                arrivals.awaitAfter(seen, Duration.ofNanos(Math.min(left, pollInterval.toNanos())));
            } catch (InterruptedException e) {
                // The node is stopping: nothing was claimed, which is the answer.
                Thread.currentThread().interrupt();
                return List.of();
            }
        }
    }

    /** Renews the lease {@code token} holds on task {@code id}, or says why it can't. */
    public Beat heartbeat(UUID id, UUID token) {
        Map<String, Duration> byAgent = new TreeMap<>(leases.get());
        Optional<Beat> renewed =
                jdbi.withHandle(
                        h ->
                                h.createQuery(RENEW)
                                        .bind("id", id)
                                        .bind("token", token)
                                        .bind("agents", byAgent.keySet().toArray(String[]::new))
                                        .bind(
                                                "agent_lease_seconds",
                                                byAgent.values().stream()
                                                        .map(d -> d.toMillis() / 1000.0)
                                                        .toArray(Double[]::new))
                                        .bind(
                                                "default_lease_seconds",
                                                RemoteSpec.DEFAULT_LEASE.toSeconds() * 1.0)
                                        .map(
                                                (rs, ctx) ->
                                                        (Beat)
                                                                new Beat.Renewed(
                                                                        Columns.instant(
                                                                                rs,
                                                                                "lease_expires_at"),
                                                                        RemoteWorkers.workerOf(
                                                                                rs.getString(
                                                                                        "lease_owner"))))
                                        .findOne());
        if (renewed.isPresent()) {
            return renewed.get();
        }
        Optional<HeldRow> held = held(id, token);
        if (held.isEmpty()) {
            return new Beat.NotHeld();
        }
        HeldRow row = held.get();
        if (row.timedOut()) {
            return timedOut(row.attempt())
                    ? new Beat.TimedOut(row.attempt().task().timeoutSeconds())
                    : new Beat.NotHeld();
        }
        if (row.cancelRequested()) {
            return completer.cancelled(row.attempt(), null).isPresent()
                    ? new Beat.Cancelled(row.now(), RemoteWorkers.workerOf(row.attempt().node()))
                    : new Beat.NotHeld();
        }
        // Renewal failed, yet the token holds the task and it is neither cancelled nor late: it
        // changed between the two statements; the worker's next beat will say.
        return new Beat.NotHeld();
    }

    /**
     * The attempt a report with {@code token} is for. One whose time is up is recorded as a timeout
     * failure here, so its late result is never recorded.
     */
    public Holder holder(UUID id, UUID token) {
        Optional<HeldRow> held = held(id, token);
        if (held.isEmpty()) {
            return new Holder.NotHeld();
        }
        HeldRow row = held.get();
        if (!row.timedOut()) {
            return new Holder.Held(row.attempt());
        }
        return timedOut(row.attempt())
                ? new Holder.TimedOut(row.attempt().task().timeoutSeconds())
                : new Holder.NotHeld();
    }

    /** Records that the attempt of {@code token} reported after losing its lease. */
    public void late(UUID id, UUID token, String logs) {
        jdbi.useHandle(
                h ->
                        h.createUpdate(RECORD_LATE)
                                .bind("id", id)
                                .bind("token", token)
                                .bind("logs", logs)
                                .execute());
    }

    private boolean timedOut(ClaimedTask attempt) {
        Task task = attempt.task();
        return completer
                .fail(
                        attempt,
                        new ExecutionError(
                                ExecutionError.TIMEOUT,
                                "the remote worker "
                                        + RemoteWorkers.workerOf(attempt.node())
                                        + " did not report within the task's timeout of "
                                        + task.timeoutSeconds()
                                        + " s"),
                        null)
                .isPresent();
    }

    private Optional<HeldRow> held(UUID id, UUID token) {
        return jdbi.withHandle(
                h ->
                        h.createQuery(HELD)
                                .bind("id", id)
                                .bind("token", token)
                                .map(
                                        (rs, ctx) ->
                                                new HeldRow(
                                                        new ClaimedTask(
                                                                mapper.map(rs, ctx),
                                                                token,
                                                                rs.getString("lease_owner"),
                                                                Columns.instant(
                                                                        rs, "attempt_started_at")),
                                                        rs.getBoolean("cancel_requested"),
                                                        rs.getBoolean("timed_out"),
                                                        Columns.instant(rs, "database_now")))
                                .findOne());
    }
}
