package dev.pulse.server.keys;

import dev.pulse.workers.keys.Scope;
import io.javalin.security.RouteRole;

/**
 * The scope a route needs, as a Javalin route role; {@link ApiKeyAuth} checks the caller's key has
 * it.
 */
public record ScopeRole(Scope scope) implements RouteRole {

    public static ScopeRole of(Scope scope) {
        return new ScopeRole(scope);
    }
}
