package dev.pulse.server.dashboard;

import io.javalin.http.Context;

/**
 * The dashboard's cookies: HttpOnly, SameSite=Strict, scoped to /dashboard, and Secure when the
 * page was served over https (directly or behind a proxy that says so).
 */
final class Cookies {

    static final String SESSION = "pulse_session";
    static final String LOGIN_CSRF = "pulse_login_csrf";

    private Cookies() {}

    static void set(Context ctx, String name, String value, long maxAgeSeconds) {
        ctx.res()
                .addHeader(
                        "Set-Cookie",
                        name
                                + "="
                                + value
                                + "; Path=/dashboard; Max-Age="
                                + maxAgeSeconds
                                + "; HttpOnly; SameSite=Strict"
                                + (secure(ctx) ? "; Secure" : ""));
    }

    static void clear(Context ctx, String name) {
        set(ctx, name, "", 0);
    }

    static boolean secure(Context ctx) {
        String forwarded = ctx.header("X-Forwarded-Proto");
        return "https".equalsIgnoreCase(ctx.scheme()) || "https".equalsIgnoreCase(forwarded);
    }
}
