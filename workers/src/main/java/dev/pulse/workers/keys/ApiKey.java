package dev.pulse.workers.keys;

import java.time.Instant;
import java.util.Set;
import java.util.UUID;

/** A stored key, without the key itself (which is never stored). */
public record ApiKey(
        UUID id,
        String name,
        String prefix,
        Set<Scope> scopes,
        Instant createdAt,
        Instant lastUsedAt,
        Instant revokedAt) {

    public boolean allows(Scope needed) {
        return scopes.contains(Scope.ADMIN)
                || scopes.contains(needed)
                || (needed == Scope.TASKS_COMPLETE
                        && (scopes.contains(Scope.TASKS_WRITE)
                                || scopes.contains(Scope.TASKS_WORK)));
    }
}
