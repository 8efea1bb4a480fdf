package dev.pulse.workers.tasks;

import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/**
 * The tables kept in one partition per UTC day (docs/architecture.md, "Partitioned history"), and
 * all that differs between them: the name, what a day's bound is, and the storage settings of a
 * day's partition. {@link HistoryPartitions} makes their days ahead and {@link DayPartitionDrops}
 * drops them, the same way for each.
 */
public enum HistoryTable {

    /** V23: by {@code COALESCE(finished_at, 'infinity')}; a bound is an instant. */
    TASKS("tasks", false, ""),

    /**
     * V26: by {@code task_id}, so an attempt lives in the day its task was created and the primary
     * key (task_id, attempt) stays; a bound is the smallest UUIDv7 of the day. V7's settings.
     */
    ATTEMPTS(
            "task_attempts",
            true,
            "fillfactor = 80, autovacuum_vacuum_scale_factor = 0.02,"
                    + " autovacuum_vacuum_insert_scale_factor = 0.05,"
                    + " autovacuum_analyze_scale_factor = 0.05, autovacuum_vacuum_cost_delay = 1"),

    /** V26: by {@code id}, so a delivery lives in the day it was created. V7's settings. */
    DELIVERIES(
            "callback_deliveries",
            true,
            "autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.05,"
                    + " autovacuum_analyze_scale_factor = 0.05, autovacuum_vacuum_cost_delay = 1");

    private static final DateTimeFormatter DAY_NAME = DateTimeFormatter.ofPattern("yyyyMMdd");

    private final String table;
    private final boolean byId;
    private final String options;

    HistoryTable(String table, boolean byId, String options) {
        this.table = table;
        this.byId = byId;
        this.options = options;
    }

    /** The partitioned table. */
    public String table() {
        return table;
    }

    /** A day's partition. */
    public String partition(LocalDate day) {
        return table + "_" + DAY_NAME.format(day);
    }

    /** The default partition: rows whose day has no partition (normally none). */
    public String unplaced() {
        return table + "_unplaced";
    }

    /** The table as it was before it was partitioned, below the migration's bound. */
    public String legacy() {
        return table + "_legacy";
    }

    /** Where a day's partition begins, as a literal of the partition key. */
    String bound(LocalDate day) {
        Instant midnight = day.atStartOfDay(ZoneOffset.UTC).toInstant();
        return byId ? TaskIds.floor(midnight).toString() : midnight.toString();
    }

    /** The storage settings of a day's partition, as a WITH clause (empty for none). */
    String storage() {
        return options.isEmpty() ? "" : " WITH (" + options + ")";
    }
}
