package dev.pulse.workers.db;

import javax.sql.DataSource;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.HandleCallbackDecorator;
import org.jdbi.v3.core.Jdbi;

/**
 * A Jdbi for statements that change nothing (lists, dashboard figures, metrics): a callback that
 * fails for a transient reason ({@link DatabaseErrors#isTransient}: a connection lost to a restart
 * or failover, {@code 57P01}, a standby cancelling a query that conflicts with replay, {@code
 * 40001}) runs again on a fresh connection, up to {@link #ATTEMPTS} times in all. Running a read
 * twice is harmless; writes never go through here, since a write whose COMMIT was cut off may have
 * happened.
 */
public final class RetriedReads implements HandleCallbackDecorator {

    static final int ATTEMPTS = 3;

    private final Jdbi jdbi;

    private RetriedReads(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    /** A Jdbi over {@code dataSource} whose callbacks are retried as above. */
    public static Jdbi over(DataSource dataSource) {
        Jdbi jdbi = Jdbi.create(dataSource);
        jdbi.setHandleCallbackDecorator(new RetriedReads(jdbi));
        return jdbi;
    }

    @Override
    public <R, X extends Exception> HandleCallback<R, X> decorate(HandleCallback<R, X> callback) {
        return handle -> {
            try {
                return callback.withHandle(handle);
            } catch (Exception first) {
                if (!DatabaseErrors.isTransient(first)) {
                    throw first;
                }
            }
            for (int attempt = 2; ; attempt++) {
                // jdbi.open() is not decorated: no retry within a retry.
                try (Handle fresh = jdbi.open()) {
                    return callback.withHandle(fresh);
                } catch (Exception again) {
                    if (attempt >= ATTEMPTS || !DatabaseErrors.isTransient(again)) {
                        throw again;
                    }
                }
            }
        };
    }
}
