package dev.pulse.workers.tasks;

import dev.pulse.workers.maintenance.PeriodicDuty;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.util.List;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes the day partitions of the history's tables ({@link HistoryTable}) ahead of need: {@code
 * tasks} (V23) is partitioned by {@code COALESCE(finished_at, 'infinity')}, the unfinished rows in
 * {@code tasks_queue}, the finished ones in one partition per UTC day of their {@code finished_at};
 * {@code task_attempts} and {@code callback_deliveries} (V26) by the UUIDv7 of their task or their
 * own, one partition per UTC day of its creation. Rows whose day has no partition go to the default
 * one ({@code <table>_unplaced}). Every worker node runs this duty (at start, before claiming, then
 * every {@link #EVERY}); one of them at a time does the work, under an advisory lock. It makes the
 * partitions from yesterday to today + {@link #DAYS_AHEAD} (database clock), each with {@code
 * lock_timeout} {@link #LOCK_TIMEOUT}: attaching one takes a brief lock on its table, which should
 * not queue behind a long reader and stall the queue behind it; it is tried again next round.
 * {@link DayPartitionDrops} drops them.
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

    private static final String TODAY = "SELECT CAST(now() AT TIME ZONE 'UTC' AS date)";

    private static final String EXISTS = "SELECT to_regclass(:name) IS NOT NULL";

    private static final String TRY_LOCK = "SELECT pg_try_advisory_xact_lock(:key)";

    private static final String SET_LOCK_TIMEOUT =
            "SELECT set_config('lock_timeout', '" + LOCK_TIMEOUT + "', true)";

    /** Made like the parent (columns, defaults, checks), with its day's storage settings. */
    private static final String CREATE =
            "CREATE TABLE %s (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS)%s";

    /**
     * Attached rather than created as a partition: ATTACH takes a lock on the table that lets reads
     * and writes go on (CREATE ... PARTITION OF would take an exclusive one), and checks only the
     * default partition, which is empty or nearly. It makes the partition's indexes, its primary
     * key included, from the table's.
     */
    private static final String ATTACH =
            "ALTER TABLE %s ATTACH PARTITION %s FOR VALUES FROM ('%s') TO ('%s')";

    /**
     * A table's partitions that end at a bound (the days and the legacy one; not the queue nor the
     * default), with their bounds as text (no lower one for the legacy partition, which starts at
     * MINVALUE) and the instant their range ends: the bound itself, or the time in the first 48
     * bits of a UUIDv7. Oldest first.
     */
    private static final String BOUNDED =
            """
            SELECT name, low, high,
                   CASE WHEN high ~ '^[0-9a-f]{8}-'
                        THEN %s
                        ELSE CAST(high AS timestamptz) END AS ends
              FROM (SELECT p.relname AS name,
                           substring(pg_get_expr(p.relpartbound, p.oid) FROM 'FROM \\(''([^'']+)''\\)') AS low,
                           substring(pg_get_expr(p.relpartbound, p.oid) FROM 'TO \\(''([^'']+)''\\)') AS high
                      FROM pg_inherits i
                      JOIN pg_class p ON p.oid = i.inhrelid
                     WHERE i.inhparent = CAST(:table AS regclass)) b
             WHERE high IS NOT NULL
             ORDER BY ends
            """
                    .formatted(TaskIds.madeAt("high"));

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

    /**
     * The condition that lets a statement addressing rows by an array of UUIDv7 ids read only the
     * day partitions between its smallest and its greatest id: the bounds are InitPlans, so the
     * other partitions are pruned when it runs, generic plans included ({@code = ANY(array)} alone
     * prunes nothing in a generic plan). PostgreSQL 15 has no min(uuid).
     */
    public static String withinIds(String column, String ids) {
        return "%1$s BETWEEN (SELECT i FROM unnest(%2$s) i ORDER BY i LIMIT 1)"
                .concat(" AND (SELECT i FROM unnest(%2$s) i ORDER BY i DESC LIMIT 1)")
                .formatted(column, ids);
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

    /**
     * Makes the missing day partitions of every history table from {@code first} to {@code last};
     * how many it made.
     */
    int ensure(LocalDate first, LocalDate last) {
        int made = 0;
        for (HistoryTable table : HistoryTable.values()) {
            for (LocalDate day = first; !day.isAfter(last); day = day.plusDays(1)) {
                String name = table.partition(day);
                if (exists(name)) {
                    continue;
                }
                Outcome outcome = make(table, day, name);
                if (outcome == Outcome.LOCKED_ELSEWHERE) {
                    return made;
                }
                if (outcome == Outcome.MADE) {
                    made++;
                    log.info("made the history partition {}", name);
                }
            }
        }
        return made;
    }

    private boolean exists(String name) {
        return jdbi.withHandle(
                h -> h.createQuery(EXISTS).bind("name", name).mapTo(Boolean.class).one());
    }

    private enum Outcome {
        MADE,
        SKIPPED,
        LOCKED_ELSEWHERE
    }

    private Outcome make(HistoryTable table, LocalDate day, String name) {
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
                        h.execute(CREATE.formatted(name, table.table(), table.storage()));
                        h.execute(
                                ATTACH.formatted(
                                        table.table(),
                                        name,
                                        table.bound(day),
                                        table.bound(day.plusDays(1))));
                        return Outcome.MADE;
                    });
        } catch (RuntimeException e) {
            String state = sqlState(e);
            if ("42P17".equals(state)) {
                // It would overlap a partition that already covers part of the day: the legacy
                // partition (V23, V26) ends within the day it ran, the next day's begins there.
                log.debug("no partition {}: another one covers part of its day", name);
                return Outcome.SKIPPED;
            }
            if ("23514".equals(state)) {
                log.warn(
                        "no partition {}: {} already holds rows of that day; they stay there"
                                + " (retention deletes them row by row)",
                        name,
                        table.unplaced());
                return Outcome.SKIPPED;
            }
            if ("55P03".equals(state)) {
                log.info(
                        "could not make the partition {} yet: {} is locked; next round",
                        name,
                        table.table());
                return Outcome.LOCKED_ELSEWHERE;
            }
            throw e;
        }
    }

    /**
     * A partition that ends at a bound: its bounds as text ({@code low} null from MINVALUE) and the
     * instant its range ends.
     */
    public record Partition(String name, String low, String high, Instant ends) {}

    /**
     * The partitions of {@code table} that end at a bound, the legacy one included, oldest first.
     */
    public static List<Partition> bounded(Handle h, HistoryTable table) {
        return h.createQuery(BOUNDED)
                .bind("table", table.table())
                .map(
                        (rs, ctx) ->
                                new Partition(
                                        rs.getString("name"),
                                        rs.getString("low"),
                                        rs.getString("high"),
                                        rs.getObject("ends", OffsetDateTime.class).toInstant()))
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
