package dev.pulse.server.dashboard;

import dev.pulse.workers.keys.ApiKeyStore;
import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import java.util.Optional;

/**
 * Runs before every dashboard route: sets the security headers, and for pages that need a session
 * finds the signed-in operator (or sends the browser to the sign-in page) and, on POST, checks the
 * CSRF token (the {@code X-CSRF-Token} header htmx sends, or the {@code _csrf} form field).
 */
final class DashboardGuard {

    static final String OPERATOR = "pulse.dashboard.operator";
    static final String CSRF_HEADER = "X-CSRF-Token";
    static final String CSRF_FIELD = "_csrf";

    private static final String CSP =
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                    + "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private final SessionStore sessions;
    private final ApiKeyStore keys;

    DashboardGuard(SessionStore sessions, ApiKeyStore keys) {
        this.sessions = sessions;
        this.keys = keys;
    }

    void check(Context ctx) {
        if (ctx.routeRoles().stream().noneMatch(DashboardRole.class::isInstance)) {
            return;
        }
        ctx.header("Content-Security-Policy", CSP);
        ctx.header("X-Frame-Options", "DENY");
        ctx.header("X-Content-Type-Options", "nosniff");
        ctx.header("Referrer-Policy", "same-origin");
        if (!ctx.routeRoles().contains(DashboardRole.SIGNED_IN)) {
            return;
        }
        ctx.header("Cache-Control", "no-store");
        Optional<Operator> operator = operator(ctx.cookie(Cookies.SESSION));
        if (operator.isEmpty()) {
            toLogin(ctx);
            return;
        }
        ctx.attribute(OPERATOR, operator.get());
        if (ctx.method().name().equals("POST")) {
            String presented = ctx.header(CSRF_HEADER);
            if (presented == null) {
                presented = ctx.formParam(CSRF_FIELD);
            }
            if (!SessionStore.same(presented, operator.get().csrfToken())) {
                throw DashboardException.forbidden(
                        "the form's CSRF token is missing or belongs to another session; "
                                + "reload the page and try again");
            }
        }
    }

    private Optional<Operator> operator(String token) {
        return sessions.keyOf(token)
                .flatMap(keys::findLive)
                .map(key -> new Operator(key, token, SessionStore.csrfToken(token)));
    }

    /**
     * No session: the browser goes to sign in (htmx requests are told to load that page instead of
     * swapping).
     */
    private static void toLogin(Context ctx) {
        if (ctx.header("HX-Request") != null) {
            ctx.header("HX-Redirect", Dashboard.LOGIN);
            ctx.status(HttpStatus.UNAUTHORIZED);
        } else {
            ctx.redirect(Dashboard.LOGIN, HttpStatus.SEE_OTHER);
        }
        ctx.skipRemainingHandlers();
    }

    static Operator operator(Context ctx) {
        Operator operator = ctx.attribute(OPERATOR);
        if (operator == null) {
            throw new IllegalStateException(
                    "dashboard page without a signed-in operator: route lacks DashboardRole.SIGNED_IN");
        }
        return operator;
    }
}
