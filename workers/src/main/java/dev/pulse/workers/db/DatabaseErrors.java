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
}
