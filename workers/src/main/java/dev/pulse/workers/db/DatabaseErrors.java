package dev.pulse.workers.db;

import java.io.IOException;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;

/** Tells a lost database (worth retrying) from a statement the database refused (not worth it). */
public final class DatabaseErrors {

    private DatabaseErrors() {}

    public static boolean isConnectivity(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof SQLTransientConnectionException || t instanceof IOException) {
                return true;
            }
            if (t instanceof SQLException sql
                    && sql.getSQLState() != null
                    && (sql.getSQLState().startsWith("08")
                            || sql.getSQLState().startsWith("57P"))) {
                return true;
            }
        }
        return false;
    }

    /**
     * A failure that says nothing about the statement: the database was unreachable, or gave up on
     * the transaction for reasons of its own ({@code 40001}: a serialization failure, or a hot
     * standby cancelling a query that conflicts with replay; {@code 40P01}: a deadlock victim).
     * Such a transaction was rolled back, so running it again is safe for anything that may run
     * twice.
     */
    public static boolean isTransient(Throwable error) {
        if (isConnectivity(error)) {
            return true;
        }
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql
                    && ("40001".equals(sql.getSQLState()) || "40P01".equals(sql.getSQLState()))) {
                return true;
            }
        }
        return false;
    }
}
