package dev.pulse.workers.db;

import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;

/**
 * A Jdbi for statements that change nothing (lists, dashboard figures, metrics): a callback that
 * fails for a transient reason ({@link DatabaseErrors#isTransient}: a connection lost to a restart
 * or failover, {@code 57P01}, a standby cancelling a query that conflicts with replay, {@code
 * 40001}) runs again on a fresh connection, up to {@link #ATTEMPTS} times in all. Running a read
 * twice is harmless; writes never go through here, since a write whose COMMIT was cut off may have
 * happened.
 */
public final class RetriedReads {

    static final int ATTEMPTS = 3;

    private RetriedReads() {}

    /** A Jdbi over {@code dataSource} whose callbacks are retried as above. */
    public static Jdbi over(DataSource dataSource) {
        return RetriedCallbacks.over(dataSource, DatabaseErrors::isTransient, ATTEMPTS);
    }
}
