package dev.pulse.workers.queue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.executors.ExecutionError;
import dev.pulse.workers.callbacks.CallbackOutbox;
import dev.pulse.workers.db.Columns;
import dev.pulse.workers.db.FixedPlans;
import dev.pulse.workers.db.JsonTexts;
import dev.pulse.workers.db.UnnestColumns;
import dev.pulse.workers.json.JsonMapper;
import dev.pulse.workers.tasks.HistoryPartitions;
import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskRowMapper;
import dev.pulse.workers.tasks.TaskState;
import dev.pulse.workers.timing.Backoff;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.random.RandomGenerator;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.UnableToExecuteStatementException;
import org.jdbi.v3.core.statement.Update;

/**
 * Records the end of an attempt through fenced updates (docs/architecture.md invariant 3): the task
 * row changes only if it is still running under the same lease token, and the attempt's row is
 * written then. A result from an attempt that lost its lease changes no task; the rescuer's row for
 * that attempt is marked {@code stale}. When the task becomes terminal, its callback is queued in
 * the same transaction (invariant 5).
 */
public final class TaskCompleter {

    /**
     * All four ends of an attempt in one array-driven fenced update: each input row changes its
     * task only if the task is still running under that row's lease token. Returns what {@link
     * #FINISH} or {@link #FINISH_RETURNING_ROWS} adds.
     */
    private static final String FINISH_EACH =
            """
            UPDATE tasks t
               SET state = CASE d.outcome
                               WHEN 'succeeded' THEN 'succeeded'
                               WHEN 'cancelled' THEN 'cancelled'
                               WHEN 'released' THEN 'queued'
                               WHEN 'throttled' THEN 'queued'
                               WHEN 'over_budget' THEN 'failed'
                               ELSE CASE WHEN t.attempts < t.max_attempts THEN 'queued' ELSE 'failed' END
                           END,
                   result = CASE WHEN d.outcome IN ('succeeded', 'over_budget') THEN CAST(d.result AS jsonb)
                                 ELSE t.result END,
                   error = CASE d.outcome
                               WHEN 'succeeded' THEN NULL
                               WHEN 'failed' THEN CAST(d.error AS jsonb)
                               WHEN 'over_budget' THEN CAST(d.error AS jsonb)
                               ELSE t.error
                           END,
                   run_at = CASE WHEN d.outcome = 'failed' AND t.attempts < t.max_attempts
                                 THEN now() + make_interval(secs => d.retry_seconds) ELSE t.run_at END,
                   virtual_start = CASE WHEN d.outcome = 'failed' AND t.attempts < t.max_attempts
                                        THEN GREATEST(t.virtual_start, now() + make_interval(secs => d.retry_seconds))
                                        ELSE t.virtual_start END,
                   finished_at = CASE d.outcome
                                     WHEN 'succeeded' THEN now()
                                     WHEN 'cancelled' THEN now()
                                     WHEN 'released' THEN t.finished_at
                                     WHEN 'throttled' THEN t.finished_at
                                     WHEN 'over_budget' THEN now()
                                     ELSE CASE WHEN t.attempts < t.max_attempts THEN NULL ELSE now() END
                                 END,
                   -- a throttled attempt did not run: it gives the task its attempt back
                   max_attempts = CASE WHEN d.outcome = 'throttled' THEN t.max_attempts + 1 ELSE t.max_attempts END,
                   updated_at = now(),
                   lease_token = NULL, lease_expires_at = NULL,
                   -- an attempt that ends its task leaves no row of its own unless it has logs:
                   -- the task row keeps what that row would hold, its node included (TaskStore.ATTEMPTS)
                   lease_owner = CASE WHEN d.outcome IN ('released', 'throttled')
                                        OR (d.outcome = 'failed' AND t.attempts < t.max_attempts)
                                      THEN NULL ELSE t.lease_owner END
              FROM unnest(CAST(:ids AS uuid[]), CAST(:tokens AS uuid[]), CAST(:outcomes AS text[]),
                          %s, %s, CAST(:retry_seconds AS float8[]))
                   AS d (id, token, outcome, result, error, retry_seconds)
             WHERE t.id = ANY(CAST(:ids AS uuid[])) AND t.id = d.id AND t.state = 'running' AND t.lease_token = d.token
               AND %s
            """
                    .formatted(
                            JsonTexts.split("results"),
                            JsonTexts.split("errors"),
                            HistoryPartitions.inQueue("t"));

    /** Each task's new state: all the worker needs, unless a callback is to be queued. */
    static final String FINISH = FINISH_EACH + "RETURNING t.id, t.state";

    /** Whole rows: for the callbacks of tasks that ended, or for a caller that asked. */
    static final String FINISH_RETURNING_ROWS = FINISH_EACH + "RETURNING t.*";

    /** The rows of the attempts that ended, written once, now. */
    private static final String RECORD_ATTEMPTS =
            """
            INSERT INTO task_attempts (task_id, attempt, node, lease_token, started_at, finished_at, outcome, error, logs)
            SELECT d.id, d.attempt, d.node, d.token, COALESCE(d.started_at, now()), now(),
                   CASE WHEN d.outcome = 'over_budget' THEN 'failed' ELSE d.outcome END,
                   CAST(d.error AS jsonb), d.logs
              FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS integer[]), CAST(:tokens AS uuid[]),
                          CAST(:nodes AS text[]), CAST(:started AS timestamptz[]), CAST(:outcomes AS text[]), %s,
                          CAST(:logs AS text[]))
                   AS d (id, attempt, token, node, started_at, outcome, error, logs)
            %%s
            """
                    .formatted(JsonTexts.split("errors"));

    /**
     * Only after a batch met a row already there: one a node of the previous version opened at its
     * claim (V11), closed here in place. Not on every batch, as a speculative insertion writes a
     * WAL record of its own per row.
     */
    private static final String CLOSING_OPEN_ROWS =
            """
            ON CONFLICT (task_id, attempt) DO UPDATE
               SET finished_at = EXCLUDED.finished_at, outcome = EXCLUDED.outcome, error = EXCLUDED.error,
                   logs = EXCLUDED.logs
             WHERE task_attempts.finished_at IS NULL AND task_attempts.lease_token = EXCLUDED.lease_token""";

    static final String INSERT_ATTEMPTS = RECORD_ATTEMPTS.formatted("");
    static final String INSERT_OR_CLOSE_ATTEMPTS = RECORD_ATTEMPTS.formatted(CLOSING_OPEN_ROWS);
    private static final String UNIQUE_VIOLATION = "23505";

    /**
     * A result that came after its attempt lost the lease: the row the rescuer wrote for that
     * attempt (lost) says it reported after all, and keeps its logs. Nothing else changes.
     */
    static final String RECORD_STALE =
            """
            UPDATE task_attempts a
               SET outcome = 'stale', logs = d.logs
              FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS integer[]), CAST(:tokens AS uuid[]),
                          CAST(:logs AS text[]))
                   AS d (id, attempt, token, logs)
             WHERE a.task_id = ANY(CAST(:ids AS uuid[])) AND %s
               AND a.task_id = d.id AND a.attempt = d.attempt AND a.lease_token = d.token AND a.outcome = 'lost'
            """
                    .formatted(HistoryPartitions.withinIds("a.task_id", "CAST(:ids AS uuid[])"));

    /**
     * How one attempt ended, ready to record: {@code outcome} is succeeded, failed, cancelled,
     * released or throttled; {@code resultJson}, {@code errorJson} and {@code retrySeconds} are set
     * as the outcome needs them.
     */
    public record Completion(
            ClaimedTask claimed,
            String outcome,
            String resultJson,
            String errorJson,
            Double retrySeconds,
            String logs) {}

    private final Jdbi jdbi;
    private final ObjectMapper json;
    private final TaskRowMapper mapper;
    private final CallbackOutbox outbox;
    private final RandomGenerator random;

    public TaskCompleter(
            Jdbi jdbi, ObjectMapper json, CallbackOutbox outbox, RandomGenerator random) {
        this.jdbi = jdbi;
        this.json = json;
        this.mapper = new TaskRowMapper(json);
        this.outbox = outbox;
        this.random = random;
    }

    /** Records a successful attempt; empty when the attempt had lost its lease (a stale result). */
    public Optional<Task> succeed(ClaimedTask claimed, JsonNode output, String logs) {
        return recordOne(succeeded(claimed, output, logs));
    }

    /**
     * Records a failed attempt: back to queued while attempts remain, due after the task's
     * exponential backoff with jitter; else failed.
     */
    public Optional<Task> fail(ClaimedTask claimed, ExecutionError error, String logs) {
        return recordOne(failed(claimed, error, logs));
    }

    /** Records that a running attempt was stopped because its task's cancellation was requested. */
    public Optional<Task> cancelled(ClaimedTask claimed, String logs) {
        return recordOne(cancellation(claimed, logs));
    }

    /** Hands an unfinished attempt back to the queue, for another node or a later start. */
    public Optional<Task> release(ClaimedTask claimed) {
        return recordOne(released(claimed));
    }

    public Completion succeeded(ClaimedTask claimed, JsonNode output, String logs) {
        return new Completion(claimed, "succeeded", write(output), null, null, logs);
    }

    /** A failure, with the retry delay drawn now from the task's own retry_base_ms/retry_max_ms. */
    public Completion failed(ClaimedTask claimed, ExecutionError error, String logs) {
        String errorJson = write(errorJson(error, claimed.attempt()));
        Backoff backoff =
                new Backoff(
                        Duration.ofMillis(claimed.task().retryBaseMs()),
                        Duration.ofMillis(claimed.task().retryMaxMs()),
                        random);
        double retrySeconds = backoff.delayAfter(claimed.attempt()).toMillis() / 1000.0;
        return new Completion(claimed, "failed", null, errorJson, retrySeconds, logs);
    }

    /**
     * The provider asked to be left alone (the agent is held meanwhile): back to the queue, the
     * attempt recorded as {@code throttled} with its error, and one more attempt allowed, so that
     * throttling never uses up the attempts the task asked for.
     */
    public Completion throttled(ClaimedTask claimed, ExecutionError error, String logs) {
        return new Completion(
                claimed, "throttled", null, write(errorJson(error, claimed.attempt())), null, logs);
    }

    /**
     * The run went over its task's budget: failed for good ({@code budget_exceeded}, not retried),
     * with what it produced kept as the result and its usage in the error.
     */
    public Completion overBudget(
            ClaimedTask claimed,
            ExecutionError error,
            JsonNode usage,
            JsonNode output,
            String logs) {
        ObjectNode errorNode = errorJson(error, claimed.attempt());
        if (usage != null) {
            errorNode.set("usage", usage);
        }
        return new Completion(
                claimed,
                "over_budget",
                output == null ? null : write(output),
                write(errorNode),
                null,
                logs);
    }

    public Completion cancellation(ClaimedTask claimed, String logs) {
        return new Completion(claimed, "cancelled", null, null, null, logs);
    }

    public Completion released(ClaimedTask claimed) {
        return new Completion(claimed, "released", null, null, null, null);
    }

    private Optional<Task> recordOne(Completion completion) {
        return recordAll(List.of(completion)).get(0);
    }

    /**
     * Records many ended attempts in one transaction: one fenced array-driven UPDATE of the tasks,
     * one multi-row INSERT of their attempt rows (and an UPDATE marking the rescuer's row {@code
     * stale} where the fence rejected the result), and one multi-row INSERT of the callbacks of
     * those that became terminal. Returns, in the order given, each task as recorded, or empty for
     * a stale result.
     */
    public List<Optional<Task>> recordAll(List<Completion> completions) {
        return record(completions, true).stream().map(e -> e.map(Ended::task)).toList();
    }

    /**
     * {@link #recordAll}, answering only the state each task is in now (empty for a stale result):
     * the worker needs no more, and reading the whole rows back is most of the cost of a batch.
     */
    public List<Optional<TaskState>> recordStates(List<Completion> completions) {
        return record(completions, false).stream().map(e -> e.map(Ended::state)).toList();
    }

    /** A recorded task's new state; {@code task} is the whole row when it was read. */
    private record Ended(UUID id, TaskState state, Task task) {}

    private List<Optional<Ended>> record(List<Completion> completions, boolean wholeRows) {
        try {
            return record(completions, wholeRows, INSERT_ATTEMPTS);
        } catch (UnableToExecuteStatementException e) {
            if (!(e.getCause() instanceof SQLException sql
                    && UNIQUE_VIOLATION.equals(sql.getSQLState()))) {
                throw e;
            }
            // The transaction rolled back whole: nothing of the first try was recorded.
            return record(completions, wholeRows, INSERT_OR_CLOSE_ATTEMPTS);
        }
    }

    private List<Optional<Ended>> record(
            List<Completion> completions, boolean wholeRows, String recordAttempts) {
        if (completions.isEmpty()) {
            return List.of();
        }
        return jdbi.inTransaction(
                h -> {
                    FixedPlans.forThisTransaction(h);
                    List<Optional<Ended>> results =
                            new ArrayList<>(
                                    Collections.nCopies(completions.size(), Optional.empty()));
                    // The same task twice in one statement would let PostgreSQL pick either row:
                    // split such
                    // batches into rounds, each seeing the rounds before it.
                    for (List<Integer> round : rounds(completions)) {
                        List<Completion> batch = round.stream().map(completions::get).toList();
                        Map<UUID, Ended> changed = new HashMap<>();
                        boolean rows =
                                wholeRows
                                        || batch.stream()
                                                .anyMatch(
                                                        c ->
                                                                c.claimed().task().callbackUrl()
                                                                        != null);
                        h.createQuery(rows ? FINISH_RETURNING_ROWS : FINISH)
                                .bind(
                                        "ids",
                                        batch.stream()
                                                .map(c -> c.claimed().id())
                                                .toArray(UUID[]::new))
                                .bind(
                                        "tokens",
                                        batch.stream()
                                                .map(c -> c.claimed().leaseToken())
                                                .toArray(UUID[]::new))
                                .bind(
                                        "outcomes",
                                        batch.stream()
                                                .map(Completion::outcome)
                                                .toArray(String[]::new))
                                .bind(
                                        "results",
                                        JsonTexts.join(
                                                batch.stream()
                                                        .map(Completion::resultJson)
                                                        .toArray(String[]::new)))
                                .bind(
                                        "errors",
                                        JsonTexts.join(
                                                batch.stream()
                                                        .map(Completion::errorJson)
                                                        .toArray(String[]::new)))
                                .bind(
                                        "retry_seconds",
                                        UnnestColumns.orEmpty(
                                                batch.stream()
                                                        .map(Completion::retrySeconds)
                                                        .toArray(Double[]::new)))
                                .map(
                                        (rs, ctx) ->
                                                rows
                                                        ? ended(mapper.map(rs, ctx))
                                                        : new Ended(
                                                                rs.getObject(1, UUID.class),
                                                                TaskState.ofColumn(rs.getString(2)),
                                                                null))
                                .forEach(e -> changed.put(e.id(), e));
                        if (rows) {
                            outbox.enqueueAll(
                                    h, changed.values().stream().map(Ended::task).toList());
                        }
                        for (int i = 0; i < batch.size(); i++) {
                            results.set(
                                    round.get(i),
                                    Optional.ofNullable(changed.get(batch.get(i).claimed().id())));
                        }
                        Map<Boolean, List<Completion>> current =
                                batch.stream()
                                        .collect(
                                                Collectors.partitioningBy(
                                                        c ->
                                                                changed.containsKey(
                                                                        c.claimed().id())));
                        recordEnded(
                                h,
                                current.get(true).stream()
                                        .filter(c -> !endsInTaskRow(c, changed))
                                        .toList(),
                                recordAttempts);
                        recordStale(h, current.get(false));
                    }
                    return results;
                });
    }

    /**
     * Whether the task row alone records this attempt: it ended its task and left no logs, so its
     * node, start, end, outcome and error are the task's own (lease_owner, attempt_started_at,
     * finished_at, state, error). One write per task fewer on the common path; {@link
     * dev.pulse.workers.tasks.TaskStore} reads such an attempt back from the task row, and writes
     * its row before a retry reuses those columns.
     */
    private static boolean endsInTaskRow(Completion completion, Map<UUID, Ended> changed) {
        return completion.logs() == null
                && changed.get(completion.claimed().id()).state().isTerminal();
    }

    /** The rows of attempts whose end changed their task. */
    private static void recordEnded(Handle h, List<Completion> ended, String recordAttempts) {
        if (ended.isEmpty()) {
            return;
        }
        bindAttempts(h.createUpdate(recordAttempts), ended)
                .bind("nodes", ended.stream().map(c -> c.claimed().node()).toArray(String[]::new))
                .bind(
                        "started",
                        ended.stream()
                                .map(c -> Columns.iso(c.claimed().startedAt()))
                                .toArray(String[]::new))
                .bind("outcomes", ended.stream().map(Completion::outcome).toArray(String[]::new))
                .bind(
                        "errors",
                        JsonTexts.join(
                                ended.stream().map(Completion::errorJson).toArray(String[]::new)))
                .execute();
    }

    /** Results that came after their attempt had lost the lease. */
    private static void recordStale(Handle h, List<Completion> stale) {
        if (stale.isEmpty()) {
            return;
        }
        bindAttempts(h.createUpdate(RECORD_STALE), stale).execute();
    }

    /**
     * Which attempts (task, attempt number, lease token) and the logs each left: what both attempt
     * statements take.
     */
    private static Update bindAttempts(Update statement, List<Completion> completions) {
        return statement
                .bind("ids", completions.stream().map(c -> c.claimed().id()).toArray(UUID[]::new))
                .bind(
                        "attempts",
                        completions.stream()
                                .map(c -> c.claimed().attempt())
                                .toArray(Integer[]::new))
                .bind(
                        "tokens",
                        completions.stream()
                                .map(c -> c.claimed().leaseToken())
                                .toArray(UUID[]::new))
                .bind(
                        "logs",
                        UnnestColumns.orEmpty(
                                completions.stream().map(Completion::logs).toArray(String[]::new)));
    }

    private static Ended ended(Task task) {
        return new Ended(task.id(), task.state(), task);
    }

    /**
     * Indexes of the completions grouped so that no task appears twice in a group, first come
     * first.
     */
    private static List<List<Integer>> rounds(List<Completion> completions) {
        List<List<Integer>> rounds = new ArrayList<>();
        List<Set<UUID>> seen = new ArrayList<>();
        for (int i = 0; i < completions.size(); i++) {
            UUID id = completions.get(i).claimed().id();
            int r = 0;
            while (r < rounds.size() && seen.get(r).contains(id)) {
                r++;
            }
            if (r == rounds.size()) {
                rounds.add(new ArrayList<>());
                seen.add(new HashSet<>());
            }
            rounds.get(r).add(i);
            seen.get(r).add(id);
        }
        return rounds;
    }

    private ObjectNode errorJson(ExecutionError error, int attempt) {
        ObjectNode node = json.createObjectNode();
        node.put("code", error.code());
        node.put("message", error.message());
        node.put("attempt", attempt);
        return node;
    }

    private String write(JsonNode value) {
        return JsonMapper.write(json, value);
    }
}
