package dev.pulse.server.keys;

import io.javalin.security.RouteRole;

/**
 * A route that any valid key may call, whatever its scopes, because what the caller may do is
 * decided inside it: {@code /mcp}, whose tools each check the scope of the REST route they mirror.
 * {@link ApiKeyAuth} still refuses a missing, unknown or revoked key and a key over its rate limit.
 */
public enum AnyKeyRole implements RouteRole {
    ANY_KEY
}
