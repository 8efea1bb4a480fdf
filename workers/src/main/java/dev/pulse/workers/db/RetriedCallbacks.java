package dev.pulse.workers.db;

import java.util.function.Predicate;
import javax.sql.DataSource;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.HandleCallbackDecorator;
import org.jdbi.v3.core.Jdbi;

/**
 * Runs a Jdbi callback again, on a fresh connection, when it fails with an error {@code retryable}
 * accepts, up to {@code attempts} times in all. What may run again, and on which errors, is the
 * caller's to say: {@link RetriedReads}, {@link MovedRows}.
 */
final class RetriedCallbacks implements HandleCallbackDecorator {

    private final Jdbi jdbi;
    private final Predicate<Throwable> retryable;
    private final int attempts;

    private RetriedCallbacks(Jdbi jdbi, Predicate<Throwable> retryable, int attempts) {
        this.jdbi = jdbi;
        this.retryable = retryable;
        this.attempts = attempts;
    }

    /** A Jdbi over {@code dataSource} whose callbacks run again as above. */
    static Jdbi over(DataSource dataSource, Predicate<Throwable> retryable, int attempts) {
        Jdbi jdbi = Jdbi.create(dataSource);
        jdbi.setHandleCallbackDecorator(new RetriedCallbacks(jdbi, retryable, attempts));
        return jdbi;
    }

    @Override
    public <R, X extends Exception> HandleCallback<R, X> decorate(HandleCallback<R, X> callback) {
        return handle -> {
            try {
                return callback.withHandle(handle);
            } catch (Exception first) {
                if (!retryable.test(first)) {
                    throw first;
                }
            }
            for (int attempt = 2; ; attempt++) {
                // jdbi.open() is not decorated: no retry within a retry.
                try (Handle fresh = jdbi.open()) {
                    return callback.withHandle(fresh);
                } catch (Exception again) {
                    if (attempt >= attempts || !retryable.test(again)) {
                        throw again;
                    }
                }
            }
        };
    }
}
