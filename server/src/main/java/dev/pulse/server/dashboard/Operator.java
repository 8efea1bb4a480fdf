package dev.pulse.server.dashboard;

import dev.pulse.workers.keys.ApiKey;
import dev.pulse.workers.keys.Scope;

/**
 * Who is signed in: the API key the session was opened with (as stored, re-read on every page, so
 * revoking the key ends the session) and the session's CSRF token.
 */
record Operator(ApiKey key, String sessionToken, String csrfToken) {

    String name() {
        return key.name();
    }

    boolean canActOnTasks() {
        return key.allows(Scope.TASKS_WRITE);
    }

    boolean canActOnSchedules() {
        return key.allows(Scope.SCHEDULES_WRITE);
    }

    boolean readOnly() {
        return !canActOnTasks() && !canActOnSchedules();
    }

    /** Refuses (403) an action the key has no scope for, whatever the page showed. */
    void require(Scope scope) {
        if (!key.allows(scope)) {
            throw DashboardException.forbidden(
                    "key '"
                            + key.name()
                            + "' lacks the scope "
                            + scope.wire()
                            + " this action needs; sign in with a key that has it");
        }
    }
}
