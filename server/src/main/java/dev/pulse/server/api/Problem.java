package dev.pulse.server.api;

import dev.pulse.workers.json.FieldError;
import java.util.List;

/**
 * An RFC 9457 problem: {@code type}, {@code title}, {@code status}, {@code detail}, and for invalid
 * input the {@code errors} that name each offending field.
 */
public record Problem(
        String type, String title, int status, String detail, List<FieldError> errors) {

    public static Problem invalid(int status, List<FieldError> errors) {
        String detail =
                errors.size() == 1
                        ? errors.get(0).field() + ": " + errors.get(0).message()
                        : errors.size() + " fields are invalid; see errors";
        return new Problem(
                "/problems/invalid-request",
                "Invalid request",
                status,
                detail,
                List.copyOf(errors));
    }

    public static Problem invalid(int status, String field, String message) {
        return invalid(status, List.of(new FieldError(field, message)));
    }

    public static Problem notFound(String detail) {
        return new Problem("/problems/not-found", "Not found", 404, detail, List.of());
    }

    /**
     * The database can't be reached (down, restarting, failing over): the caller should retry soon,
     * with the same Idempotency-Key, since a write cut off at its commit may have happened.
     */
    public static Problem unavailable() {
        return new Problem(
                "/problems/unavailable",
                "Database unavailable",
                503,
                "the database is unreachable (down, restarting or failing over to a standby); retry"
                        + " after Retry-After seconds. A request that queues work is safe to repeat"
                        + " with the same Idempotency-Key: it is then queued once even if this one"
                        + " was stored just before the connection was cut",
                List.of());
    }

    /** The commit that held the request's writes failed: nothing was stored; retry. */
    public static Problem notStored() {
        return new Problem(
                "/problems/unavailable",
                "Not stored",
                503,
                "the transaction that held this request failed to commit, so nothing was stored; retry in a moment",
                List.of());
    }

    /** A failure of the server's own, logged where it happened. */
    public static Problem internal() {
        return new Problem(
                "/problems/internal",
                "Internal error",
                500,
                "the server failed to handle this request; it was logged. Retry later, and report it if it persists",
                List.of());
    }

    public static Problem conflict(String detail) {
        return new Problem("/problems/conflict", "Conflict", 409, detail, List.of());
    }
}
