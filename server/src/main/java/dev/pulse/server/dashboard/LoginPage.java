package dev.pulse.server.dashboard;

import dev.pulse.workers.keys.ApiKey;
import dev.pulse.workers.keys.ApiKeyStore;
import dev.pulse.workers.keys.Scope;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import java.util.Map;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * Signing in with an API key (checked like the API checks it, then forgotten: only a session token
 * goes into the cookie) and signing out. The sign-in form carries its own CSRF token, matched
 * against a short-lived cookie, so no other site can sign a browser in.
 */
final class LoginPage {

    private final ApiKeyStore keys;
    private final SessionStore sessions;
    private final Templates templates;
    private final RandomGenerator random;

    LoginPage(
            ApiKeyStore keys, SessionStore sessions, Templates templates, RandomGenerator random) {
        this.keys = keys;
        this.sessions = sessions;
        this.templates = templates;
        this.random = random;
    }

    void register(RoutesConfig routes) {
        routes.get(Dashboard.LOGIN, this::form, DashboardRole.PUBLIC);
        routes.post(Dashboard.LOGIN, this::signIn, DashboardRole.PUBLIC);
        routes.post(Dashboard.ROOT + "/logout", this::signOut, DashboardRole.SIGNED_IN);
    }

    private void form(Context ctx) {
        show(ctx, 200, null);
    }

    private void show(Context ctx, int status, String error) {
        String formToken = SessionStore.randomToken(random);
        Cookies.set(ctx, Cookies.LOGIN_CSRF, formToken, 3600);
        ctx.header("Cache-Control", "no-store");
        ctx.status(status);
        templates.render(
                ctx,
                "login",
                error == null
                        ? Map.of("formToken", formToken)
                        : Map.of("formToken", formToken, "error", error));
    }

    private void signIn(Context ctx) {
        if (!SessionStore.same(
                ctx.formParam(DashboardGuard.CSRF_FIELD), ctx.cookie(Cookies.LOGIN_CSRF))) {
            show(ctx, 403, "The sign-in form expired. Please try again.");
            return;
        }
        String presented = Optional.ofNullable(ctx.formParam("api_key")).orElse("").trim();
        Optional<ApiKey> key =
                presented.isEmpty() ? Optional.empty() : keys.authenticate(presented);
        if (key.isEmpty()) {
            show(ctx, 401, "That API key is unknown or revoked.");
            return;
        }
        if (key.get().scopes().stream()
                .allMatch(
                        s ->
                                s == Scope.METRICS_READ
                                        || s == Scope.TASKS_COMPLETE
                                        || s == Scope.TASKS_WORK)) {
            // Keys for machines (a metrics scraper, an async agent reporting results, a remote
            // worker) never see the dashboard.
            show(
                    ctx,
                    403,
                    "That key may only read metrics, report agent results or work as a remote worker; sign in with a key that has a"
                            + " tasks:read/write, schedules, agents or admin scope.");
            return;
        }
        String token = sessions.open(key.get().id());
        Cookies.clear(ctx, Cookies.LOGIN_CSRF);
        Cookies.set(ctx, Cookies.SESSION, token, SessionStore.LIFETIME.toSeconds());
        ctx.redirect(Dashboard.ROOT, HttpStatus.SEE_OTHER);
    }

    private void signOut(Context ctx) {
        sessions.close(DashboardGuard.operator(ctx).sessionToken());
        Cookies.clear(ctx, Cookies.SESSION);
        ctx.redirect(Dashboard.LOGIN, HttpStatus.SEE_OTHER);
    }
}
