package dev.pulse.workers.db;

import java.sql.SQLException;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.jdbi.v3.core.Jdbi;

/**
 * Runs again what met a row that a concurrent transaction moved to another partition ({@code tasks}
 * is partitioned by when a task finished, V23). A statement that locks or updates a row (FOR UPDATE
 * [SKIP LOCKED], a fenced UPDATE) after another transaction moved it and committed does not find
 * the row's new version, as it would within one table, but fails: SQLSTATE {@code 40001}, "tuple to
 * be locked was already moved to another partition due to concurrent update". The statement failed
 * and its transaction was rolled back, so running the transaction again is safe, and then it sees
 * the row where it is now (finished: the fence or the state condition leaves it alone).
 *
 * <p>{@link #over} gives a Jdbi whose every callback runs again on such a failure, up to {@link
 * #ATTEMPTS} times in all: a callback is one transaction, or statements each of which may run
 * again. {@link #again} does the same for one statement inside a callback, when the callback's
 * earlier statements have committed and must not run twice (the claim's two scans).
 */
public final class MovedRows {

    static final int ATTEMPTS = 5;

    private MovedRows() {}

    /** A Jdbi over {@code dataSource} whose callbacks run again as above. */
    public static Jdbi over(DataSource dataSource) {
        return RetriedCallbacks.over(dataSource, MovedRows::isMovedRow, ATTEMPTS);
    }

    /**
     * Whether {@code error} is a statement that met a row moved to another partition. Known by its
     * SQLSTATE alone, not its message (translated under a server's {@code lc_messages}): on the
     * primary, in READ COMMITTED, which is all Pulse's transactions use, nothing else raises {@code
     * 40001}, and any {@code 40001} rolled its transaction back, so running it again is safe.
     */
    public static boolean isMovedRow(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && "40001".equals(sql.getSQLState())) {
                return true;
            }
        }
        return false;
    }

    /** Runs {@code statement} (one autocommitted statement or a whole transaction) as above. */
    public static <T> T again(Supplier<T> statement) {
        for (int attempt = 1; ; attempt++) {
            try {
                return statement.get();
            } catch (RuntimeException e) {
                if (attempt >= ATTEMPTS || !isMovedRow(e)) {
                    throw e;
                }
            }
        }
    }
}
