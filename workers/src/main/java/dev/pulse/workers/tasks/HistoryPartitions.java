package dev.pulse.workers.tasks;

import dev.pulse.workers.maintenance.PeriodicDuty;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the day partitions of {@code tasks} ahead of need (V23): {@code tasks} is partitioned by
 * {@code COALESCE(finished_at, 'infinity')}, the unfinished rows in {@code tasks_queue}, the
 * finished ones in one partition per UTC day of their {@code finished_at}, and those whose day has
 * no partition in the default {@code tasks_unplaced}. Every worker node runs this duty (at start,
 * before claiming, then every {@link #EVERY}); one of them at a time does the work, under an
 * advisory lock. It makes the partitions from yesterday to today + {@link #DAYS_AHEAD} (database
 * clock), each with {@code lock_timeout} {@link #LOCK_TIMEOUT}: attaching one takes a brief lock on
 * {@code tasks}, which should not queue behind a long reader and stall the queue behind it; it is
 * tried again next round. {@link Retention} drops them.
 */
public final class HistoryPartitions extends PeriodicDuty {

    private static final Logger log = LoggerFactory.getLogger(HistoryPartitions.class);

    /** Advisory lock key: "pulse" + 4. */
    static final long LOCK_KEY = 0x70756c736504L;

    static final Duration EVERY = Duration.ofMinutes(10);

    static final int DAYS_AHEAD = 3;

    static final String LOCK_TIMEOUT = "2s";

    /** The partition of unfinished tasks: statements that never move a row address it alone. */
    public static final String QUEUE = "tasks_queue";

    /** The default partition: finished rows whose day had no partition. */
    static final String UNPLACED = "tasks_unplaced";

    /** The table as it was before V23, holding the tasks that had finished by then. */
    static final String LEGACY = "tasks_legacy";

    private static final DateTimeFormatter DAY_NAME = DateTimeFormatter.ofPattern("yyyyMMdd");

    private static final String TODAY = "SELECT CAST(now() AT TIME ZONE 'UTC' AS date)";

    private static final String EXISTS = "SELECT to_regclass(:name) IS NOT NULL";

    private static final String TRY_LOCK = "SELECT pg_try_advisory_xact_lock(:key)";

    private static final String SET_LOCK_TIMEOUT =
            "SELECT set_config('lock_timeout', '" + LOCK_TIMEOUT + "', true)";

    /** Made like the parent (columns, defaults, checks), with its own primary key on id. */
    private static final String CREATE =
            "CREATE TABLE %1$s (LIKE tasks INCLUDING DEFAULTS INCLUDING CONSTRAINTS);\n"
                    + "ALTER TABLE %1$s ADD PRIMARY KEY (id)";

    /**
     * Attached rather than created as a partition: ATTACH takes a lock on tasks that lets reads and
     * writes go on (CREATE ... PARTITION OF would take an exclusive one), and checks only the
     * default partition, which is empty or nearly.
     */
    private static final String ATTACH =
            "ALTER TABLE tasks ATTACH PARTITION %s FOR VALUES FROM ('%s') TO ('%s')";

    /**
     * The history partitions with the end of their range (the legacy one included; not the queue
     * nor the default), oldest first.
     */
    private static final String FINISHED =
            """
            SELECT p.relname AS name,
                   CAST(substring(pg_get_expr(p.relpartbound, p.oid) FROM 'TO \\(''([^'']+)''\\)') AS timestamptz) AS ends
              FROM pg_inherits i
              JOIN pg_class p ON p.oid = i.inhrelid
             WHERE i.inhparent = CAST('tasks' AS regclass)
               AND pg_get_expr(p.relpartbound, p.oid) LIKE '%TO (''%'
             ORDER BY ends
            """;

    private final Jdbi jdbi;

    public HistoryPartitions(Jdbi jdbi) {
        super("history-partitions", EVERY, EVERY);
        this.jdbi = jdbi;
    }

    /**
     * The condition that keeps a statement on {@code tasks} to the queue's partition, planned there
     * alone (the partition key's expression, as V23 wrote it).
     */
    public static String inQueue(String alias) {
        return "COALESCE("
                + alias
                + ".finished_at, 'infinity'::timestamptz) = 'infinity'::timestamptz";
    }

    /** A day's partition's name. */
    static String nameOf(LocalDate day) {
        return "tasks_" + DAY_NAME.format(day);
    }

    @Override
    protected void pass() {
        ensure();
    }

    @Override
    protected void failed(RuntimeException e) {
        log.warn(
                "could not make the history's partitions, trying again in {}: {}",
                EVERY,
                e.getMessage());
    }

    /**
     * Makes the missing day partitions from yesterday to today + {@link #DAYS_AHEAD}; returns how
     * many it made (0 also when another node holds the lock).
     */
    public int ensure() {
        LocalDate today = today();
        return ensure(today.minusDays(1), today.plusDays(DAYS_AHEAD));
    }

    /** Today by the database clock, in UTC. */
    LocalDate today() {
        return jdbi.withHandle(h -> h.createQuery(TODAY).mapTo(LocalDate.class).one());
    }

    /** Makes the missing day partitions from {@code first} to {@code last}; how many it made. */
    int ensure(LocalDate first, LocalDate last) {
        int made = 0;
        for (LocalDate day = first; !day.isAfter(last); day = day.plusDays(1)) {
            String name = nameOf(day);
            boolean exists =
                    jdbi.withHandle(
                            h ->
                                    h.createQuery(EXISTS)
                                            .bind("name", name)
                                            .mapTo(Boolean.class)
                                            .one());
            if (exists) {
                continue;
            }
            Outcome outcome = make(day, name);
            if (outcome == Outcome.LOCKED_ELSEWHERE) {
                return made;
            }
            if (outcome == Outcome.MADE) {
                made++;
                log.info("made the history partition {}", name);
            }
        }
        return made;
    }

    private enum Outcome {
        MADE,
        SKIPPED,
        LOCKED_ELSEWHERE
    }

    private Outcome make(LocalDate day, String name) {
        try {
            return jdbi.inTransaction(
                    h -> {
                        if (!h.createQuery(TRY_LOCK)
                                .bind("key", LOCK_KEY)
                                .mapTo(Boolean.class)
                                .one()) {
                            return Outcome.LOCKED_ELSEWHERE;
                        }
                        h.createQuery(SET_LOCK_TIMEOUT).mapTo(String.class).one();
                        if (h.createQuery(EXISTS).bind("name", name).mapTo(Boolean.class).one()) {
                            return Outcome.SKIPPED;
                        }
                        h.createScript(CREATE.formatted(name)).execute();
                        h.execute(ATTACH.formatted(name, midnight(day), midnight(day.plusDays(1))));
                        return Outcome.MADE;
                    });
        } catch (RuntimeException e) {
            String state = sqlState(e);
            if ("42P17".equals(state)) {
                // It would overlap a partition that already covers part of the day: the legacy
                // partition (V23) ends within the day it ran, the next day's begins there.
                log.debug("no partition {}: another one covers part of its day", name);
                return Outcome.SKIPPED;
            }
            if ("23514".equals(state)) {
                log.warn(
                        "no partition {}: tasks_unplaced already holds tasks finished that day; they"
                                + " stay there (retention deletes them row by row)",
                        name);
                return Outcome.SKIPPED;
            }
            if ("55P03".equals(state)) {
                log.info("could not make the partition {} yet: tasks is locked; next round", name);
                return Outcome.LOCKED_ELSEWHERE;
            }
            throw e;
        }
    }

    private static String midnight(LocalDate day) {
        return day.atStartOfDay(ZoneOffset.UTC).toInstant().toString();
    }

    /** A history partition and where its range ends. */
    public record Partition(String name, Instant ends) {}

    /** The history's partitions, the legacy one included, oldest first. */
    public static List<Partition> finished(Handle h) {
        return h.createQuery(FINISHED)
                .map(
                        (rs, ctx) ->
                                new Partition(
                                        rs.getString("name"),
                                        rs.getObject("ends", java.time.OffsetDateTime.class)
                                                .toInstant()))
                .list();
    }

    private static String sqlState(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql) {
                return sql.getSQLState();
            }
        }
        return null;
    }
}
