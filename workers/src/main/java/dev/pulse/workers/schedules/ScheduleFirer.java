package dev.pulse.workers.schedules;

import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.workers.db.Columns;
import dev.pulse.workers.schedules.ScheduleDefinition.Misfire;
import dev.pulse.workers.schedules.ScheduleDefinition.Overlap;
import dev.pulse.workers.tasks.NewTask;
import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskStore;
import dev.pulse.workers.timing.WakeUp;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;

/**
 * Turns a schedule's tick into at most one task (docs/architecture.md invariant 6): the {@code
 * schedule_fires} row for (schedule, tick) is inserted under a UNIQUE constraint in the same
 * transaction as the task, so however many schedulers fire the tick, one task results. Also applies
 * the overlap policy, releases ticks held behind a running task, and the misfire policy to ticks
 * missed while no scheduler ran.
 */
public final class ScheduleFirer {

    public enum Outcome {
        ENQUEUED,
        WAITING,
        SKIPPED_OVERLAP,
        DUPLICATE,
        NOT_FIRED
    }

    public record Fired(Outcome outcome, Task task) {}

    // Locking the schedule row serialises the ticks of one schedule, so the overlap check and
    // the enqueue that follows it can't interleave with another tick's.
    private static final String LOCK_SCHEDULE =
            "SELECT * FROM schedules WHERE name = :name FOR UPDATE";

    private static final String INSERT_FIRE =
            """
            INSERT INTO schedule_fires (schedule_id, fire_time, outcome) VALUES (:id, :fire_time, :outcome)
            ON CONFLICT (schedule_id, fire_time) DO NOTHING
            RETURNING fire_time
            """;

    private static final String RECORD_FIRE =
            """
            UPDATE schedule_fires SET outcome = :outcome, task_id = CAST(:task_id AS uuid)
             WHERE schedule_id = :id AND fire_time = :fire_time
            """;

    private static final String HAS_ACTIVE_RUN =
            """
            SELECT EXISTS (SELECT 1 FROM tasks
                            WHERE schedule_name = :name AND state IN ('scheduled', 'queued', 'running'))
            """;

    private static final String ADVANCE =
            """
            UPDATE schedules SET fired_through = GREATEST(fired_through, :through) WHERE id = :id
            """;

    private static final String WAITING_READY =
            """
            SELECT DISTINCT ON (s.name) s.name, f.fire_time
              FROM schedule_fires f
              JOIN schedules s ON s.id = f.schedule_id
             WHERE f.outcome = 'waiting'
               AND NOT EXISTS (SELECT 1 FROM tasks t
                                WHERE t.schedule_name = s.name AND t.state IN ('scheduled', 'queued', 'running'))
             ORDER BY s.name, f.fire_time
            """;

    private static final String WAITING_EARLIEST =
            """
            SELECT fire_time FROM schedule_fires
             WHERE schedule_id = :id AND outcome = 'waiting'
             ORDER BY fire_time LIMIT 1
            """;

    private static final String DB_NOW = "SELECT now()";

    private final Jdbi jdbi;
    private final ScheduleStore schedules;
    private final TaskStore tasks;
    private final AgentRegistry agents;
    private final WakeUp workerWakeUp;

    public ScheduleFirer(
            Jdbi jdbi,
            ScheduleStore schedules,
            TaskStore tasks,
            AgentRegistry agents,
            WakeUp workerWakeUp) {
        this.jdbi = jdbi;
        this.schedules = schedules;
        this.tasks = tasks;
        this.agents = agents;
        this.workerWakeUp = workerWakeUp;
    }

    /** The database's clock, which decides which ticks are due. */
    public Instant databaseNow() {
        return jdbi.withHandle(
                h -> h.createQuery(DB_NOW).map((rs, ctx) -> Columns.instant(rs, "now")).one());
    }

    /** Fires one tick of a schedule. A disabled or deleted schedule does not fire. */
    public Fired fire(String name, Instant tick) {
        return fire(name, tick, false);
    }

    /**
     * Fires a run now, whatever the cron says ({@code POST /v1/schedules/{name}/trigger}); overlap
     * still applies.
     */
    public Optional<Fired> triggerNow(String name) {
        Fired fired = fire(name, databaseNow(), true);
        return fired.outcome() == Outcome.NOT_FIRED ? Optional.empty() : Optional.of(fired);
    }

    /** The schedule, its row locked for this transaction: one firing or release at a time. */
    private Optional<Schedule> lock(Handle h, String name) {
        return h.createQuery(LOCK_SCHEDULE)
                .bind("name", name)
                .map((rs, ctx) -> schedules.map(rs))
                .findOne();
    }

    private Fired fire(String name, Instant tick, boolean manual) {
        Fired fired =
                jdbi.inTransaction(
                        h -> {
                            Optional<Schedule> locked = lock(h, name);
                            // A node that has not yet read a change (say to times or until) may
                            // offer a tick the schedule no longer has.
                            if (locked.isEmpty()
                                    || (!manual
                                            && (!locked.get().definition().enabled()
                                                    || !locked.get().isTick(tick)))) {
                                return new Fired(Outcome.NOT_FIRED, null);
                            }
                            Schedule schedule = locked.get();
                            boolean fresh =
                                    h.createQuery(INSERT_FIRE)
                                            .bind("id", schedule.id())
                                            .bind("fire_time", Timestamp.from(tick))
                                            .bind("outcome", manual ? "manual" : "enqueued")
                                            .mapTo(OffsetDateTime.class)
                                            .findOne()
                                            .isPresent();
                            if (!fresh) {
                                return new Fired(Outcome.DUPLICATE, null);
                            }
                            Fired result = runOrHold(h, schedule, tick, manual);
                            if (!manual) {
                                h.createUpdate(ADVANCE)
                                        .bind("id", schedule.id())
                                        .bind("through", Timestamp.from(tick))
                                        .execute();
                            }
                            return result;
                        });
        if (fired.outcome() == Outcome.ENQUEUED) {
            workerWakeUp.signal();
        }
        return fired;
    }

    private Fired runOrHold(Handle h, Schedule schedule, Instant tick, boolean manual) {
        Overlap overlap = schedule.definition().overlap();
        boolean busy =
                overlap != Overlap.ALLOW
                        && h.createQuery(HAS_ACTIVE_RUN)
                                .bind("name", schedule.name())
                                .mapTo(Boolean.class)
                                .one();
        if (busy && overlap == Overlap.SKIP) {
            record(h, schedule, tick, "skipped_overlap", null);
            return new Fired(Outcome.SKIPPED_OVERLAP, null);
        }
        if (busy) {
            record(h, schedule, tick, "waiting", null);
            return new Fired(Outcome.WAITING, null);
        }
        Task task = tasks.enqueue(h, newTask(schedule, tick)).task();
        record(h, schedule, tick, manual ? "manual" : "enqueued", task.id());
        return new Fired(Outcome.ENQUEUED, task);
    }

    private static void record(
            Handle h, Schedule schedule, Instant tick, String outcome, UUID taskId) {
        h.createUpdate(RECORD_FIRE)
                .bind("id", schedule.id())
                .bind("fire_time", Timestamp.from(tick))
                .bind("outcome", outcome)
                .bind("task_id", taskId)
                .execute();
    }

    private NewTask newTask(Schedule schedule, Instant tick) {
        ScheduleDefinition d = schedule.definition();
        Optional<AgentDefinition> agent = agents.find(d.agent());
        int maxAttempts =
                agent.map(AgentDefinition::maxAttempts)
                        .orElse(AgentDefinition.DEFAULT_MAX_ATTEMPTS);
        Duration timeout =
                agent.map(AgentDefinition::timeout).orElse(AgentDefinition.DEFAULT_TIMEOUT);
        Duration retryBase =
                agent.map(AgentDefinition::retryBase).orElse(AgentDefinition.DEFAULT_RETRY_BASE);
        Duration retryMax =
                agent.map(AgentDefinition::retryMax).orElse(AgentDefinition.DEFAULT_RETRY_MAX);
        return NewTask.builder(d.agent(), d.input(), d.metadata())
                .callbackUrl(d.callbackUrl())
                .maxAttempts(maxAttempts)
                .timeoutSeconds((int) Math.max(1, (timeout.toMillis() + 999) / 1000))
                .retry(retryBase.toMillis(), retryMax.toMillis())
                .tick(schedule.name(), tick)
                .build();
    }

    /**
     * Enqueues, per schedule, the earliest tick held behind a run that has since ended; returns how
     * many.
     */
    public int releaseWaiting() {
        List<String> ready =
                jdbi.withHandle(
                        h ->
                                h.createQuery(WAITING_READY)
                                        .map((rs, ctx) -> rs.getString("name"))
                                        .list());
        int released = 0;
        for (String name : ready) {
            released +=
                    jdbi.inTransaction(
                            h -> {
                                Optional<Schedule> locked = lock(h, name);
                                if (locked.isEmpty()
                                        || h.createQuery(HAS_ACTIVE_RUN)
                                                .bind("name", name)
                                                .mapTo(Boolean.class)
                                                .one()) {
                                    return 0;
                                }
                                Optional<Instant> tick =
                                        h.createQuery(WAITING_EARLIEST)
                                                .bind("id", locked.get().id())
                                                .map((rs, ctx) -> Columns.instant(rs, "fire_time"))
                                                .findOne();
                                if (tick.isEmpty()) {
                                    return 0;
                                }
                                Task task =
                                        tasks.enqueue(h, newTask(locked.get(), tick.get())).task();
                                record(h, locked.get(), tick.get(), "enqueued", task.id());
                                return 1;
                            });
        }
        if (released > 0) {
            workerWakeUp.signal();
        }
        return released;
    }

    /**
     * Applies each enabled schedule's misfire policy to ticks in ({@code fired_through}, now −
     * {@code grace}] by the database clock: ticks that no scheduler fired. Ticks younger than the
     * grace are left to {@link CronTicker}, which fires late ticks itself within that threshold.
     * Returns how many ticks it fired.
     */
    public int recoverMissedTicks(Duration grace) {
        Instant until = databaseNow().minus(grace);
        int fired = 0;
        for (Schedule schedule : schedules.list()) {
            ScheduleDefinition d = schedule.definition();
            if (!d.enabled() || !schedule.firedThrough().isBefore(until)) {
                continue;
            }
            int keep = d.misfire() == Misfire.CATCH_UP ? d.catchUpMax() : 1;
            List<Instant> missed = schedule.fireTimesBetween(schedule.firedThrough(), until, keep);
            if (missed.isEmpty()) {
                continue;
            }
            if (d.misfire() != Misfire.SKIP) {
                for (Instant tick : missed) {
                    if (fire(schedule.name(), tick).outcome() != Outcome.DUPLICATE) {
                        fired++;
                    }
                }
            }
            Instant last = missed.get(missed.size() - 1);
            jdbi.useHandle(
                    h ->
                            h.createUpdate(ADVANCE)
                                    .bind("id", schedule.id())
                                    .bind("through", Timestamp.from(last))
                                    .execute());
        }
        return fired;
    }
}
