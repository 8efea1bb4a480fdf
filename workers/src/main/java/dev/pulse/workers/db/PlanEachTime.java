package dev.pulse.workers.db;

import java.sql.PreparedStatement;
import java.sql.SQLException;
import org.jdbi.v3.core.statement.StatementContext;
import org.jdbi.v3.core.statement.StatementCustomizer;
import org.postgresql.PGStatement;

/**
 * Has PostgreSQL plan a statement at every execution, for its actual arrays and the tables as
 * they are now, instead of reusing the generic plan of a server-side prepared statement.
 *
 * <p>For the array-driven updates that join a batch to a table that grows quickly (attempts,
 * deliveries): the driver prepares a statement after five runs, and PostgreSQL keeps the generic
 * plan it made then. Made while the table was still small (a fresh database), that plan scans the
 * whole table for every batch, and keeps doing so after it has grown to millions of rows, until
 * the next ANALYZE: the burn-down bench turned quadratic that way (docs/benchmarks.md). Planning
 * costs a fraction of a millisecond, once per batch of up to a hundred rows.
 */
public final class PlanEachTime implements StatementCustomizer {

    @Override
    public void beforeExecution(PreparedStatement statement, StatementContext ctx) throws SQLException {
        statement.unwrap(PGStatement.class).setPrepareThreshold(0);
    }
}
