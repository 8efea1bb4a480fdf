package dev.pulse.server.dashboard;

/**
 * Ends a dashboard request with an HTML error page: 403 for a refused action, 404 for a missing
 * thing, …
 */
final class DashboardException extends RuntimeException {

    private final int status;

    DashboardException(int status, String message) {
        super(message);
        this.status = status;
    }

    int status() {
        return status;
    }

    static DashboardException forbidden(String message) {
        return new DashboardException(403, message);
    }

    static DashboardException notFound(String message) {
        return new DashboardException(404, message);
    }
}
