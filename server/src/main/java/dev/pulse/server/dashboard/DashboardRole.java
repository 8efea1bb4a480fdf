package dev.pulse.server.dashboard;

import io.javalin.security.RouteRole;

/**
 * Marks a route as a dashboard page rather than an API operation: {@link #SIGNED_IN} pages need a
 * dashboard session (and a CSRF token on POST), {@link #PUBLIC} ones (sign-in, static assets)
 * don't. API keys are never checked on these routes; the OpenAPI document leaves them out.
 */
public enum DashboardRole implements RouteRole {
    PUBLIC,
    SIGNED_IN
}
