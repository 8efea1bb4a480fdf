package dev.pulse.workers.tasks;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.TraceContext;
import dev.pulse.workers.callbacks.CallbackOutbox;
import dev.pulse.workers.db.Columns;
import dev.pulse.workers.db.JsonTexts;
import dev.pulse.workers.db.UnnestColumns;
import dev.pulse.workers.json.JsonMapper;
import dev.pulse.workers.metrics.QueueMetrics;
import dev.pulse.workers.tracing.TaskTracing;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Function;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.StatementContext;

/** Creating, reading, cancelling and retrying tasks. Running them is the queue's business. */
public final class TaskStore {

    /**
     * How far apart in the claim order two waiting tasks of one key are placed: one position in the
     * key's queue. Longer than any interval between claims under a backlog, so that places behind
     * the present are claimed before a new key's first task is placed (why: docs/architecture.md,
     * "Fairness across concurrency keys").
     */
    static final String FAIR_STEP = "interval '1 hour'";

    /** How many tasks a text filter searches at most per page (newest first, past the cursor). */
    public static final int TEXT_WINDOW = TaskListing.TEXT_WINDOW;

    /** The idempotency namespace of tasks created without an API key (schedules, tests). */
    public static final String NO_OWNER = "";

    // One multi-row INSERT fed by one array per column, for one task or a thousand. Due times come
    // from the database clock. A keyed task's place in the claim order (virtual_start) follows its
    // key's last waiting task by FAIR_STEP (docs/architecture.md, "Fairness across concurrency
    // keys"); the last is read once per key of the batch, one backward step in tasks_key_backlog
    // (written as ORDER BY ... LIMIT 1 so that no statistics can turn it into a read of the key's
    // whole backlog).
    private static final String INSERT_MANY =
            """
            WITH b AS (
                SELECT u.*, COALESCE(u.run_at, now() + make_interval(secs => COALESCE(u.delay, 0))) AS due,
                       row_number() OVER (PARTITION BY u.concurrency_key ORDER BY u.ord) AS nth
                  FROM unnest(CAST(:ids AS uuid[]), CAST(:agents AS text[]), CAST(:priorities AS integer[]),
                              %s, %s, CAST(:callback_urls AS text[]),
                              CAST(:max_attempts AS integer[]), CAST(:timeouts AS integer[]),
                              CAST(:run_ats AS timestamptz[]), CAST(:delays AS float8[]),
                              CAST(:retry_bases AS integer[]), CAST(:retry_maxes AS integer[]), CAST(:keys AS text[]),
                              CAST(:schedules AS text[]), CAST(:fire_times AS timestamptz[]),
                              CAST(:trace_parents AS text[]), CAST(:trace_states AS text[]),
                              CAST(:concurrency_keys AS text[]), %s) WITH ORDINALITY
                       AS u (id, agent, priority, input, metadata, callback_url, max_attempts, timeout_seconds,
                             run_at, delay, retry_base_ms, retry_max_ms, idempotency_key, schedule_name, fire_time,
                             trace_parent, trace_state, concurrency_key, budget, ord)
            ), backlog AS (
                SELECT k.concurrency_key,
                       (SELECT t.virtual_start FROM tasks_queue t
                         WHERE t.concurrency_key = k.concurrency_key AND t.state IN ('scheduled', 'queued')
                           AND t.virtual_start IS NOT NULL AND t.run_at <= now()
                         ORDER BY t.virtual_start DESC LIMIT 1) AS last
                  FROM (SELECT DISTINCT concurrency_key FROM b WHERE concurrency_key IS NOT NULL) k
            )%%s
            INSERT INTO tasks_queue (id, agent, state, priority, input, metadata, callback_url, max_attempts, timeout_seconds,
                               run_at, retry_base_ms, retry_max_ms, idempotency_owner, idempotency_key,
                               schedule_name, fire_time, trace_parent, trace_state, concurrency_key, virtual_start, budget)
            SELECT b.id, b.agent, CASE WHEN b.due > now() THEN 'scheduled' ELSE 'queued' END, b.priority,
                   CAST(b.input AS jsonb), CAST(b.metadata AS jsonb), b.callback_url, b.max_attempts, b.timeout_seconds,
                   b.due, b.retry_base_ms, b.retry_max_ms, :owner, b.idempotency_key, b.schedule_name, b.fire_time,
                   b.trace_parent, b.trace_state, b.concurrency_key,
                   CASE WHEN b.concurrency_key IS NULL THEN b.due
                        ELSE GREATEST(b.due, backlog.last + %s) + (b.nth - 1) * %s END,
                   CAST(b.budget AS jsonb)
              FROM b LEFT JOIN backlog ON backlog.concurrency_key = b.concurrency_key
            %%s
            RETURNING %%s
            """
                    .formatted(
                            JsonTexts.split("inputs"),
                            JsonTexts.split("metadata"),
                            JsonTexts.split("budgets"),
                            FAIR_STEP,
                            FAIR_STEP);

    // Only for batches that carry idempotency keys: the keys go to task_keys first (a speculative
    // insertion takes a lock and writes an extra WAL record per row, which a batch without keys
    // cannot need), and only the tasks whose key was free, or that have none, are inserted. A key
    // used twice in the batch is taken by its first use (the insert follows the batch's order); a
    // key another transaction is inserting waits for that transaction, as a unique index would.
    // (tasks is partitioned by finished_at, so it cannot hold a unique index on the key itself.)
    private static final String TAKE_KEYS =
            """
            , taken AS (
                INSERT INTO task_keys (idempotency_owner, idempotency_key, task_id)
                SELECT :owner, b.idempotency_key, b.id FROM b WHERE b.idempotency_key IS NOT NULL ORDER BY b.ord
                ON CONFLICT DO NOTHING
                RETURNING task_id
            )""";

    private static final String ONLY_FREE_KEYS =
            "WHERE b.idempotency_key IS NULL OR b.id IN (SELECT task_id FROM taken)";

    private static final String FIND_BY_IDEMPOTENCY_KEYS =
            """
            SELECT %s FROM tasks
             WHERE id IN (SELECT task_id FROM task_keys
                           WHERE idempotency_owner = :owner AND idempotency_key = ANY(CAST(:keys AS text[])))
            """;

    /** The inserts and the look-up of taken idempotency keys, all reading back the same columns. */
    private record Readback(String insert, String insertSkippingTakenKeys, String findByKeys) {
        Readback(String columns) {
            this(
                    INSERT_MANY.formatted("", "", columns),
                    INSERT_MANY.formatted(TAKE_KEYS, ONLY_FREE_KEYS, columns),
                    FIND_BY_IDEMPOTENCY_KEYS.formatted(columns));
        }
    }

    private static final Readback WHOLE_ROWS = new Readback("*");

    /**
     * The columns a batch answer needs; the whole row would be read back and parsed for nothing.
     */
    private static final Readback BRIEF = new Readback("id, state, run_at, idempotency_key");

    private static final String FIND = "SELECT * FROM tasks WHERE id = :id";

    private static final String FIND_MANY = "SELECT * FROM tasks WHERE id = ANY(:ids)";

    // Ended attempts, wherever they are recorded (V25); the running one is read from its task row
    // (V11), unless a node of the previous version opened a row for it at its claim.
    private static final String ATTEMPTS =
            """
            SELECT attempt, node, started_at, finished_at, outcome, error, logs
              FROM ended_attempts
             WHERE task_id = :id
            UNION ALL
            SELECT attempts, lease_owner, attempt_started_at, NULL, NULL, NULL, NULL
              FROM tasks_queue t
             WHERE id = :id AND state = 'running'
               AND NOT EXISTS (SELECT 1 FROM task_attempts a WHERE a.task_id = t.id AND a.attempt = t.attempts)
             ORDER BY attempt
            """;

    private static final String CANCEL_WAITING =
            """
            UPDATE tasks
               SET state = 'cancelled', finished_at = now(), updated_at = now()
             WHERE id = :id AND state IN ('scheduled', 'queued') AND %s
            RETURNING *
            """
                    .formatted(HistoryPartitions.inQueue("tasks"));

    // The worker holding the lease sees the request on its next heartbeat, stops the run and
    // records the task cancelled through its fenced update.
    private static final String REQUEST_CANCEL =
            """
            UPDATE tasks_queue
               SET cancel_requested_at = COALESCE(cancel_requested_at, now()), updated_at = now()
             WHERE id = :id AND state = 'running'
            RETURNING *
            """;

    /**
     * Back to the queue, now, with more attempts; only from failed or cancelled. The attempt that
     * ended the task may live only in its task row (the view ended_attempts, V25), whose columns
     * the next attempt reuses: its row is written first. Its lease token fences nothing any more,
     * so a nil one stands in.
     */
    private static final String RETRY_WHERE =
            """
            WITH again AS MATERIALIZED (
                SELECT id, attempts, lease_owner, attempt_started_at, finished_at, state, error
                  FROM tasks
                 WHERE %s AND state IN ('failed', 'cancelled')
                   FOR UPDATE
            ), kept AS (
                INSERT INTO task_attempts (task_id, attempt, node, lease_token, started_at, finished_at, outcome, error)
                SELECT id, attempts, lease_owner, CAST('00000000-0000-0000-0000-000000000000' AS uuid),
                       attempt_started_at, finished_at, state, CASE WHEN state = 'failed' THEN error END
                  FROM again
                 WHERE attempts > 0 AND attempt_started_at IS NOT NULL AND lease_owner IS NOT NULL
                ON CONFLICT (task_id, attempt) DO NOTHING
            )
            UPDATE tasks t
               SET state = 'queued', run_at = now(), virtual_start = now(), max_attempts = t.attempts + :more_attempts,
                   result = NULL, error = NULL, finished_at = NULL, cancel_requested_at = NULL, lease_owner = NULL,
                   updated_at = now()
              FROM again
             WHERE t.id = again.id
            """;

    private static final String RETRY = RETRY_WHERE.formatted("id = :id") + "RETURNING t.*";

    private static final String RETRY_ALL = RETRY_WHERE.formatted("id = ANY(CAST(:ids AS uuid[]))");

    private final Jdbi jdbi;
    private final Jdbi lists;
    private final ObjectMapper json;
    private final TaskRowMapper mapper;
    private final TaskIds ids;
    private final CallbackOutbox outbox;
    private final QueueMetrics metrics;
    private final TaskTracing tracing;

    /** A store that makes no enqueue spans (tests; nodes without tracing). */
    public TaskStore(
            Jdbi jdbi,
            ObjectMapper json,
            TaskIds ids,
            CallbackOutbox outbox,
            QueueMetrics metrics) {
        this(jdbi, json, ids, outbox, metrics, TaskTracing.off());
    }

    /**
     * @param tracing makes each insert's enqueue span, whose context the tasks store
     */
    public TaskStore(
            Jdbi jdbi,
            ObjectMapper json,
            TaskIds ids,
            CallbackOutbox outbox,
            QueueMetrics metrics,
            TaskTracing tracing) {
        this(jdbi, jdbi, json, ids, outbox, metrics, tracing);
    }

    private TaskStore(
            Jdbi jdbi,
            Jdbi lists,
            ObjectMapper json,
            TaskIds ids,
            CallbackOutbox outbox,
            QueueMetrics metrics,
            TaskTracing tracing) {
        this.tracing = tracing;
        this.jdbi = jdbi;
        this.lists = lists;
        this.json = json;
        this.mapper = new TaskRowMapper(json);
        this.ids = ids;
        this.outbox = outbox;
        this.metrics = metrics;
    }

    /**
     * The same store, with {@link #list} read through {@code lists} (a read replica's pool):
     * everything else, a task looked up by id included, stays on the primary, so a task just
     * created is always found.
     */
    public TaskStore listingFrom(Jdbi lists) {
        return new TaskStore(jdbi, lists, json, ids, outbox, metrics, tracing);
    }

    /** Inserts the task, or returns the existing one when its idempotency key was used before. */
    public Enqueued enqueue(NewTask task) {
        return enqueue(task, NO_OWNER);
    }

    /**
     * @param owner the idempotency namespace: keys are unique per owner (the API key that queued
     *     the task), so two clients using the same key never see each other's tasks
     */
    public Enqueued enqueue(NewTask task, String owner) {
        return jdbi.inTransaction(h -> enqueue(h, task, owner));
    }

    /** {@link #enqueue(NewTask)} inside the caller's transaction. */
    public Enqueued enqueue(Handle h, NewTask task) {
        return enqueue(h, task, NO_OWNER);
    }

    private Enqueued enqueue(Handle h, NewTask task, String owner) {
        Inserted<Task> one =
                insert(
                                h,
                                List.of(task),
                                owner,
                                WHOLE_ROWS,
                                mapper,
                                Task::id,
                                Task::idempotencyKey,
                                false)
                        .get(0);
        return new Enqueued(one.row(), one.created());
    }

    /**
     * Single requests gathered into one transaction (a group commit): one multi-row insert per
     * idempotency namespace among them (usually one), and one commit for all. Answers each request
     * as {@link #enqueue(NewTask, String)} would have, aligned with {@code group}; a key repeated
     * within the group is answered with the task its first use created, as not created. Each task
     * gets an enqueue span of its own, under its own request's trace.
     */
    public List<Enqueued> enqueueGroup(List<OwnedTask> group) {
        return jdbi.inTransaction(
                h -> {
                    Enqueued[] answers = new Enqueued[group.size()];
                    Map<String, List<Integer>> byOwner = new LinkedHashMap<>();
                    for (int i = 0; i < group.size(); i++) {
                        byOwner.computeIfAbsent(group.get(i).owner(), o -> new ArrayList<>())
                                .add(i);
                    }
                    for (Map.Entry<String, List<Integer>> owned : byOwner.entrySet()) {
                        List<Integer> at = owned.getValue();
                        List<Inserted<Task>> rows =
                                insert(
                                        h,
                                        at.stream().map(i -> group.get(i).task()).toList(),
                                        owned.getKey(),
                                        WHOLE_ROWS,
                                        mapper,
                                        Task::id,
                                        Task::idempotencyKey,
                                        true);
                        for (int k = 0; k < at.size(); k++) {
                            answers[at.get(k)] =
                                    new Enqueued(rows.get(k).row(), rows.get(k).created());
                        }
                    }
                    return List.of(answers);
                });
    }

    /** A task to queue in the idempotency namespace of {@code owner}. */
    public record OwnedTask(NewTask task, String owner) {}

    /**
     * Inserts many tasks in one statement and answers, aligned with the input, each one's id, state
     * and due time. A task whose idempotency key was used before (or earlier in the same batch) is
     * answered with the original, as not created.
     */
    public List<Queued> enqueueAll(List<NewTask> batch, String owner) {
        return jdbi
                .inTransaction(
                        h ->
                                insert(
                                        h,
                                        batch,
                                        owner,
                                        BRIEF,
                                        TaskStore::brief,
                                        Brief::id,
                                        Brief::idempotencyKey,
                                        false))
                .stream()
                .map(i -> new Queued(i.row().id(), i.row().state(), i.row().runAt(), i.created()))
                .toList();
    }

    private record Brief(UUID id, TaskState state, Instant runAt, String idempotencyKey) {}

    private static Brief brief(ResultSet rs, StatementContext ctx) throws SQLException {
        return new Brief(
                rs.getObject(1, UUID.class),
                TaskState.ofColumn(rs.getString(2)),
                Columns.instant(rs, 3),
                rs.getString(4));
    }

    private record Inserted<T>(T row, boolean created) {}

    /**
     * The insert behind both enqueues, reading back the {@code readback} columns of each row
     * through {@code rows}.
     */
    private <T> List<Inserted<T>> insert(
            Handle h,
            List<NewTask> batch,
            String owner,
            Readback readback,
            RowMapper<T> rows,
            Function<T, UUID> idOf,
            Function<T, String> keyOf,
            boolean spanPerTask) {
        int n = batch.size();
        UUID[] newIds = ids.next(n);
        String[] keys =
                batch.stream()
                        .map(NewTask::idempotencyKey)
                        .filter(Objects::nonNull)
                        .toArray(String[]::new);
        Map<UUID, T> inserted;
        // One span for a batch (one request); one per task for a group of separate requests, each
        // under its own request's trace.
        List<Span> spans = new ArrayList<>();
        if (tracing.on() && spanPerTask) {
            for (int i = 0; i < n; i++) {
                spans.add(enqueueSpan(List.of(batch.get(i)), new UUID[] {newIds[i]}));
            }
        } else if (tracing.on()) {
            spans.add(enqueueSpan(batch, newIds));
        }
        // Stored with each task: the parent of its later spans, and what its agent receives.
        TraceContext[] traces = new TraceContext[n];
        for (int i = 0; i < n; i++) {
            traces[i] =
                    spans.isEmpty()
                            ? batch.get(i).trace()
                            : tracing.contextOf(spans.get(spans.size() == n ? i : 0));
        }
        try {
            inserted =
                    insertRows(
                            h,
                            batch,
                            owner,
                            keys.length > 0
                                    ? readback.insertSkippingTakenKeys()
                                    : readback.insert(),
                            rows,
                            idOf,
                            newIds,
                            traces);
        } catch (RuntimeException e) {
            spans.forEach(span -> span.setStatus(StatusCode.ERROR, e.getClass().getSimpleName()));
            throw e;
        } finally {
            spans.forEach(Span::end);
        }
        // A key that was taken: under READ COMMITTED this statement sees the row that took it.
        Map<String, T> byKey = new HashMap<>();
        if (inserted.size() < n && keys.length > 0) {
            h.createQuery(readback.findByKeys())
                    .bind("owner", owner)
                    .bind("keys", keys)
                    .map(rows)
                    .forEach(t -> byKey.put(keyOf.apply(t), t));
        }
        List<Inserted<T>> result = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            T created = inserted.get(newIds[i]);
            if (created != null) {
                metrics.queued(batch.get(i).agent());
                result.add(new Inserted<>(created, true));
            } else {
                result.add(new Inserted<>(byKey.get(batch.get(i).idempotencyKey()), false));
            }
        }
        return result;
    }

    /**
     * One span for the insert, under the context the (first) task was queued in: a batch arrives in
     * one request, so its tasks share their caller's trace, and each task's own spans hang off this
     * one.
     */
    private Span enqueueSpan(List<NewTask> batch, UUID[] newIds) {
        NewTask first = batch.get(0);
        SpanBuilder builder =
                tracing.span(TaskTracing.ENQUEUE, SpanKind.PRODUCER, first.trace())
                        .setAttribute("pulse.task.count", batch.size());
        if (batch.size() == 1) {
            builder.setAttribute("pulse.task.id", newIds[0].toString())
                    .setAttribute("pulse.agent", first.agent());
            if (first.scheduleName() != null) {
                builder.setAttribute("pulse.schedule", first.scheduleName());
            }
        }
        return builder.startSpan();
    }

    /** Runs {@code insert} for the batch; the rows it inserted, by id. */
    private <T> Map<UUID, T> insertRows(
            Handle h,
            List<NewTask> batch,
            String owner,
            String insert,
            RowMapper<T> rows,
            Function<T, UUID> idOf,
            UUID[] newIds,
            TraceContext[] traces) {
        Map<UUID, T> inserted = new HashMap<>();
        h.createQuery(insert)
                .bind("owner", owner)
                .bind("ids", newIds)
                .bind("agents", batch.stream().map(NewTask::agent).toArray(String[]::new))
                .bind("priorities", batch.stream().map(NewTask::priority).toArray(Integer[]::new))
                .bind(
                        "inputs",
                        JsonTexts.join(
                                batch.stream().map(t -> write(t.input())).toArray(String[]::new)))
                .bind(
                        "metadata",
                        JsonTexts.join(
                                batch.stream()
                                        .map(t -> write(t.metadata()))
                                        .toArray(String[]::new)))
                .bind(
                        "callback_urls",
                        UnnestColumns.orEmpty(
                                batch.stream().map(NewTask::callbackUrl).toArray(String[]::new)))
                .bind(
                        "max_attempts",
                        batch.stream().map(NewTask::maxAttempts).toArray(Integer[]::new))
                .bind(
                        "timeouts",
                        batch.stream().map(NewTask::timeoutSeconds).toArray(Integer[]::new))
                .bind(
                        "run_ats",
                        UnnestColumns.orEmpty(
                                batch.stream().map(t -> iso(t.runAt())).toArray(String[]::new)))
                .bind(
                        "delays",
                        UnnestColumns.orEmpty(
                                batch.stream()
                                        .map(
                                                t ->
                                                        t.delaySeconds() == null
                                                                ? null
                                                                : t.delaySeconds().toPlainString())
                                        .toArray(String[]::new)))
                .bind(
                        "retry_bases",
                        batch.stream().map(t -> (int) t.retryBaseMs()).toArray(Integer[]::new))
                .bind(
                        "retry_maxes",
                        batch.stream().map(t -> (int) t.retryMaxMs()).toArray(Integer[]::new))
                .bind(
                        "keys",
                        UnnestColumns.orEmpty(
                                batch.stream().map(NewTask::idempotencyKey).toArray(String[]::new)))
                .bind(
                        "schedules",
                        UnnestColumns.orEmpty(
                                batch.stream().map(NewTask::scheduleName).toArray(String[]::new)))
                .bind(
                        "concurrency_keys",
                        UnnestColumns.orEmpty(
                                batch.stream().map(NewTask::concurrencyKey).toArray(String[]::new)))
                .bind(
                        "budgets",
                        JsonTexts.join(
                                batch.stream()
                                        .map(t -> t.budget() == null ? null : write(t.budget()))
                                        .toArray(String[]::new)))
                .bind(
                        "fire_times",
                        UnnestColumns.orEmpty(
                                batch.stream().map(t -> iso(t.fireTime())).toArray(String[]::new)))
                .bind(
                        "trace_parents",
                        UnnestColumns.orEmpty(
                                Arrays.stream(traces)
                                        .map(TraceContext::traceparent)
                                        .toArray(String[]::new)))
                .bind(
                        "trace_states",
                        UnnestColumns.orEmpty(
                                Arrays.stream(traces)
                                        .map(TraceContext::tracestate)
                                        .toArray(String[]::new)))
                .map(rows)
                .forEach(t -> inserted.put(idOf.apply(t), t));
        return inserted;
    }

    private static String iso(Instant instant) {
        return instant == null ? null : instant.toString();
    }

    public Optional<Task> find(UUID id) {
        return jdbi.withHandle(h -> h.createQuery(FIND).bind("id", id).map(mapper).findOne());
    }

    /**
     * A task with who holds its lease (null unless running) and when its current or last attempt
     * started.
     */
    public record Leased(Task task, String leaseOwner, Instant attemptStartedAt) {}

    /** The tasks of {@code ids} with their leases, in their order; empty where there is none. */
    public List<Optional<Leased>> findLeased(List<UUID> ids) {
        Map<UUID, Leased> found = new HashMap<>();
        jdbi.useHandle(
                h ->
                        h.createQuery(FIND_MANY)
                                .bind("ids", ids.toArray(UUID[]::new))
                                .map(this::leased)
                                .forEach(l -> found.put(l.task().id(), l)));
        return ids.stream().map(id -> Optional.ofNullable(found.get(id))).toList();
    }

    private Leased leased(ResultSet rs, StatementContext ctx) throws SQLException {
        Task task = mapper.map(rs, ctx);
        // a finished task keeps its last attempt's node in lease_owner; no one holds its lease
        return new Leased(
                task,
                task.state() == TaskState.RUNNING ? rs.getString("lease_owner") : null,
                Columns.instant(rs, "attempt_started_at"));
    }

    /**
     * One page of the tasks {@code filter} matches, newest first. With a text filter only the next
     * {@link TaskListing#TEXT_WINDOW} tasks the other filters match are searched, so that a search
     * costs the same on any history: a page the window did not fill still has a next cursor (the
     * oldest task searched) while older tasks remain.
     */
    public TaskPage list(TaskFilter filter) {
        return lists.withHandle(
                h -> {
                    int limit = filter.limit();
                    if (filter.text() == null) {
                        return page(
                                TaskListing.rows("*", filter, null, limit + 1)
                                        .query(h)
                                        .map(mapper)
                                        .list(),
                                limit,
                                null);
                    }
                    List<Searched> read =
                            TaskListing.search("*", filter, null, limit + 1)
                                    .query(h)
                                    .map(
                                            (rs, ctx) ->
                                                    new Searched(
                                                            mapper.map(rs, ctx),
                                                            rs.getBoolean("matched"),
                                                            rs.getLong("scanned")))
                                    .list();
                    // The window's last task came if the scan reached it: the next window starts
                    // after it. Without it the window held all the older tasks.
                    UUID windowEnd =
                            read.stream()
                                    .filter(r -> r.scanned() == TaskListing.TEXT_WINDOW)
                                    .map(r -> r.task().id())
                                    .findFirst()
                                    .orElse(null);
                    return page(
                            read.stream().filter(Searched::matched).map(Searched::task).toList(),
                            limit,
                            windowEnd);
                });
    }

    /** A row of a text search: a task, whether it holds the text, its place in the window. */
    private record Searched(Task task, boolean matched, long scanned) {}

    /** Rows past {@code limit} mean another page, which starts after the last one shown. */
    private static TaskPage page(List<Task> rows, int limit, UUID windowEnd) {
        if (rows.size() <= limit) {
            return new TaskPage(rows, windowEnd);
        }
        List<Task> page = rows.subList(0, limit);
        return new TaskPage(List.copyOf(page), page.get(page.size() - 1).id());
    }

    /**
     * Ids of the tasks {@code filter} matches that are in one of {@code states}, newest first, at
     * most its limit (with a text filter: among the next {@link TaskListing#TEXT_WINDOW} tasks).
     */
    public List<UUID> ids(TaskFilter filter, List<TaskState> states) {
        return jdbi.withHandle(
                h ->
                        filter.text() == null
                                ? TaskListing.rows("id", filter, states, filter.limit())
                                        .query(h)
                                        .map((rs, ctx) -> rs.getObject("id", UUID.class))
                                        .list()
                                : TaskListing.search("id", filter, states, filter.limit())
                                        .query(h)
                                        .map(
                                                (rs, ctx) ->
                                                        rs.getBoolean("matched")
                                                                ? Optional.of(
                                                                        rs.getObject(
                                                                                "id", UUID.class))
                                                                : Optional.<UUID>empty())
                                        .list()
                                        .stream()
                                        .flatMap(Optional::stream)
                                        .toList());
    }

    public List<TaskAttempt> attempts(UUID id) {
        return jdbi.withHandle(
                h ->
                        h.createQuery(ATTEMPTS)
                                .bind("id", id)
                                .map(
                                        (rs, ctx) ->
                                                new TaskAttempt(
                                                        rs.getInt("attempt"),
                                                        rs.getString("node"),
                                                        Columns.instant(rs, "started_at"),
                                                        Columns.instant(rs, "finished_at"),
                                                        rs.getString("outcome"),
                                                        mapper.jsonb(rs, "error"),
                                                        rs.getString("logs")))
                                .list());
    }

    /**
     * Cancels a task: at once if it has not started (its callback queued in the same transaction),
     * or by asking its worker to stop it if it is running.
     */
    public CancelOutcome cancel(UUID id) {
        return jdbi.inTransaction(
                h -> {
                    Optional<Task> cancelled =
                            h.createQuery(CANCEL_WAITING).bind("id", id).map(mapper).findOne();
                    if (cancelled.isPresent()) {
                        outbox.enqueue(h, cancelled.get());
                        return new CancelOutcome.Cancelled(cancelled.get());
                    }
                    Optional<Task> requested =
                            h.createQuery(REQUEST_CANCEL).bind("id", id).map(mapper).findOne();
                    if (requested.isPresent()) {
                        return new CancelOutcome.Requested(requested.get());
                    }
                    return h.createQuery(FIND)
                            .bind("id", id)
                            .map(mapper)
                            .findOne()
                            .<CancelOutcome>map(CancelOutcome.AlreadyFinished::new)
                            .orElseGet(CancelOutcome.NotFound::new);
                });
    }

    /**
     * Queues a failed or cancelled task again with {@code moreAttempts} further attempts; empty if
     * it is not in such a state.
     */
    public Optional<Task> retry(UUID id, int moreAttempts) {
        return jdbi.withHandle(
                h ->
                        h.createQuery(RETRY)
                                .bind("id", id)
                                .bind("more_attempts", moreAttempts)
                                .map(mapper)
                                .findOne());
    }

    /**
     * {@link #retry} for many tasks in one statement; returns how many were failed or cancelled and
     * are queued again.
     */
    public int retryAll(List<UUID> ids, int moreAttempts) {
        return jdbi.withHandle(
                h ->
                        h.createUpdate(RETRY_ALL)
                                .bind("ids", ids.toArray(UUID[]::new))
                                .bind("more_attempts", moreAttempts)
                                .execute());
    }

    private String write(Object value) {
        return JsonMapper.write(json, value);
    }
}
