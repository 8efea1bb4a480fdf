package dev.pulse.workers.db;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.Query;

/**
 * Gives the statements that join a batch to a table one plan per connection that no table
 * statistics can spoil.
 *
 * <p>The claim, the finish and the attempt rows run hundreds of times a second. Planned at every
 * execution (PostgreSQL's own choice for the claim; forced for the others until now), parsing and
 * planning took about a tenth of the database's time (docs/benchmarks.md, sixth session). A generic
 * plan is made once per connection, but from the statistics of that moment: on a fresh database
 * whose tables were just analyzed empty, that is a sequential scan, kept while the table grows (the
 * quadratic plan of docs/benchmarks.md's first session). So these settings, for one transaction,
 * make the plan generic and turn sequential scans, nested loops and bitmap scans off: what is left
 * are index lookups bounded by the batch, whatever the statistics say. Bitmap scans too: on a table
 * never analysed (a server without autovacuum) the claim's generic plan was a bitmap scan of every
 * claimable row past its position, sorted, instead of the index read in order and stopped at the
 * batch's size (docs/benchmarks.md, "the never-analysed slow mode"). The statements are written for
 * it: each reaches its table through an index condition on the batch's keys ({@code id =
 * ANY(...)}), not only through a join. {@code HotPathPlansTest} checks the plans. Statements
 * elsewhere keep PostgreSQL's defaults: the settings never outlive their transaction.
 */
public final class FixedPlans {

    private static final String FOR_THIS_TRANSACTION =
            """
            SELECT set_config('plan_cache_mode', 'force_generic_plan', true) AS plan_cache_mode,
                   set_config('enable_seqscan', 'off', true) AS enable_seqscan,
                   set_config('enable_nestloop', 'off', true) AS enable_nestloop,
                   set_config('enable_bitmapscan', 'off', true) AS enable_bitmapscan""";

    private FixedPlans() {}

    /**
     * Until the current transaction ends (so a transaction-pooling PgBouncer keeps it to this
     * client); returns {@code h}.
     */
    public static Handle forThisTransaction(Handle h) {
        h.createQuery(FOR_THIS_TRANSACTION).mapToMap().one();
        return h;
    }

    /**
     * A query with the settings ahead of it, for use outside a transaction, read with {@link
     * #rows}. The driver sends both statements at once, and without an explicit transaction they
     * share the implicit one that lasts until the protocol's Sync: the settings apply to the query
     * and end with it, with no round trip of their own (an explicit transaction would take two: the
     * settings and the COMMIT).
     */
    public static String ahead(String sql) {
        return FOR_THIS_TRANSACTION + ";\n" + sql;
    }

    /**
     * {@link #ahead}, and the implicit transaction commits without waiting for its WAL to reach the
     * disk: for a statement whose loss in a database crash loses nothing anyone was told of (the
     * claim: {@code TaskClaimer} says why). Its WAL is flushed by the next commit that waits, or
     * within three {@code wal_writer_delay}s.
     */
    public static String aheadUnflushed(String sql) {
        return FOR_THIS_TRANSACTION
                + ",\n       set_config('synchronous_commit', 'off', true) AS synchronous_commit;\n"
                + sql;
    }

    /** The rows of a query written with {@link #ahead}: the second result. */
    public static <T> List<T> rows(Query query, RowMapper<T> mapper) {
        return query.execute(
                (statement, ctx) -> {
                    try {
                        PreparedStatement executed = statement.get();
                        if (!executed.getMoreResults()) {
                            throw new IllegalStateException(
                                    "no rows after the settings: was the query written with FixedPlans.ahead?");
                        }
                        List<T> rows = new ArrayList<>();
                        try (ResultSet rs = executed.getResultSet()) {
                            RowMapper<T> row = mapper.specialize(rs, ctx);
                            while (rs.next()) {
                                rows.add(row.map(rs, ctx));
                            }
                        }
                        return rows;
                    } finally {
                        ctx.close();
                    }
                });
    }
}
