package dev.pulse.server.keys;

import dev.pulse.server.api.Problem;
import dev.pulse.server.api.ProblemException;
import dev.pulse.workers.keys.ApiKey;
import dev.pulse.workers.keys.CachedApiKeys;
import dev.pulse.workers.keys.Scope;
import io.javalin.http.Context;
import io.javalin.security.RouteRole;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Checks the {@code Authorization: Bearer <key>} of every request to a route that names a scope, or
 * that takes {@link AnyKeyRole any key}; routes with neither (health) are public. 401 for a
 * missing, unknown or revoked key, 403 for a key without the scope, 429 (with Retry-After) for a
 * key over its rate limit.
 */
public final class ApiKeyAuth {

    private static final String KEY_ATTRIBUTE = "pulse.api_key";

    private final CachedApiKeys keys;
    private final RateLimits limits;

    public ApiKeyAuth(CachedApiKeys keys, RateLimits limits) {
        this.keys = keys;
        this.limits = limits;
    }

    public void check(Context ctx) {
        // Only scopes concern API keys; other roles (the dashboard's pages) are checked by their
        // own guard.
        Set<RouteRole> roles = ctx.routeRoles();
        List<Scope> required = new ArrayList<>(roles.size());
        for (RouteRole role : roles) {
            if (role instanceof ScopeRole scope) {
                required.add(scope.scope());
            }
        }
        if (required.isEmpty() && !roles.contains(AnyKeyRole.ANY_KEY)) {
            return;
        }
        String header = ctx.header("Authorization");
        if (header == null
                || !header.regionMatches(true, 0, "Bearer ", 0, 7)
                || header.length() <= 7) {
            ctx.header("WWW-Authenticate", "Bearer");
            throw new ProblemException(
                    new Problem(
                            "/problems/unauthorized",
                            "Unauthorized",
                            401,
                            "send an API key as 'Authorization: Bearer <key>'; create one with: pulse keys create --name NAME --scopes admin",
                            List.of()));
        }
        ApiKey key =
                keys.authenticate(header.substring(7).trim())
                        .orElseThrow(
                                () -> {
                                    ctx.header(
                                            "WWW-Authenticate", "Bearer error=\"invalid_token\"");
                                    return new ProblemException(
                                            new Problem(
                                                    "/problems/unauthorized",
                                                    "Unauthorized",
                                                    401,
                                                    "the API key is unknown or revoked; check it, or create a new one with pulse keys create",
                                                    List.of()));
                                });
        for (Scope scope : required) {
            if (!key.allows(scope)) {
                throw new ProblemException(
                        new Problem(
                                "/problems/forbidden",
                                "Forbidden",
                                403,
                                "key '"
                                        + key.name()
                                        + "' lacks the scope "
                                        + scope.wire()
                                        + " this route needs",
                                List.of()));
            }
        }
        long waitSeconds = limits.take(key.id());
        if (waitSeconds > 0) {
            ctx.header("Retry-After", Long.toString(waitSeconds));
            throw new ProblemException(
                    new Problem(
                            "/problems/rate-limited",
                            "Too many requests",
                            429,
                            "key '"
                                    + key.name()
                                    + "' is over its rate limit; retry after "
                                    + waitSeconds
                                    + " s",
                            List.of()));
        }
        ctx.attribute(KEY_ATTRIBUTE, key);
    }

    /** The idempotency namespace of the request's key: its id. */
    public static String ownerOf(Context ctx) {
        ApiKey key = ctx.attribute(KEY_ATTRIBUTE);
        return ownerOf(key);
    }

    /** The idempotency namespace of a key: its id ("" for none). */
    public static String ownerOf(ApiKey key) {
        return key == null ? "" : key.id().toString();
    }

    /** The key the request was authenticated with; empty on a public route. */
    public static Optional<ApiKey> keyOf(Context ctx) {
        return Optional.ofNullable(ctx.attribute(KEY_ATTRIBUTE));
    }
}
