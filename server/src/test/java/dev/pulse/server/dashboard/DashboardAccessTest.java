package dev.pulse.server.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.server.keys.ApiKeyStore;
import dev.pulse.server.keys.Scope;
import java.net.http.HttpResponse;
import java.security.SecureRandom;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The dashboard's access rules over plain HTTP (no browser): sign-in into a hardened session
 * cookie, no page without it, CSRF on every action, read-only keys refused server-side, sign-out,
 * and no secret on any page.
 */
class DashboardAccessTest {

    private static final ObjectMapper json = new ObjectMapper();
    private static final List<String> PAGES = List.of("/dashboard", "/dashboard/overview/live", "/dashboard/tasks",
            "/dashboard/schedules", "/dashboard/agents", "/dashboard/nodes", "/dashboard/callbacks");

    private static TestNode node;
    private static ApiKeyStore keys;
    private static String readerKey;
    private static String taskId;

    @BeforeAll
    static void start() throws Exception {
        node = new TestNode();
        keys = new ApiKeyStore(node.jdbi, new SecureRandom());
        readerKey = keys.create("reader", EnumSet.of(Scope.TASKS_READ));
        // a waiting task (an hour away) that actions could change, and a schedule to pause
        taskId = json.readTree(node.post("/v1/tasks", "{\"agent\": \"echo\", \"input\": {\"n\": 1}, \"delay_seconds\": 3600}").body())
                .path("id").asText();
        assertThat(node.post("/v1/schedules", "{\"name\": \"nightly\", \"cron\": \"0 2 * * *\", \"agent\": \"echo\"}")
                .statusCode()).isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    @Test
    void withoutASessionEveryPageSendsTheBrowserToSignIn() throws Exception {
        DashboardClient anonymous = new DashboardClient(node);
        for (String page : PAGES) {
            HttpResponse<String> r = anonymous.get(page);
            assertThat(r.statusCode()).as(page).isEqualTo(303);
            assertThat(r.headers().firstValue("Location")).as(page).hasValue("/dashboard/login");
        }
        HttpResponse<String> htmx = anonymous.get("/dashboard/overview/live", Map.of("HX-Request", "true"));
        assertThat(htmx.statusCode()).isEqualTo(401);
        assertThat(htmx.headers().firstValue("HX-Redirect")).hasValue("/dashboard/login");
        HttpResponse<String> action = anonymous.post("/dashboard/tasks/" + taskId + "/cancel", Map.of(), Map.of());
        assertThat(action.statusCode()).isEqualTo(303);
        assertThat(state(taskId)).isEqualTo("scheduled");
        // a made-up session cookie is no session
        anonymous.cookies.put(Cookies.SESSION, "forged");
        assertThat(anonymous.get("/dashboard").statusCode()).isEqualTo(303);
        assertThat(anonymous.get("/dashboard/login").statusCode()).isEqualTo(200);
        assertThat(anonymous.get("/dashboard/assets/htmx.min.js").statusCode()).isEqualTo(200);
    }

    @Test
    void signingInSetsAHardenedSessionCookieAndNeverEchoesTheKey() {
        DashboardClient browser = new DashboardClient(node);
        HttpResponse<String> signIn = browser.signIn(TestNode.ADMIN_KEY);
        assertThat(signIn.statusCode()).isEqualTo(303);
        assertThat(signIn.headers().firstValue("Location")).hasValue("/dashboard");
        String cookie = DashboardClient.setCookies(signIn).stream().filter(c -> c.startsWith(Cookies.SESSION + "=")).findFirst()
                .orElseThrow();
        assertThat(cookie).contains("HttpOnly", "SameSite=Strict", "Path=/dashboard").doesNotContain("Secure")
                .doesNotContain(TestNode.ADMIN_KEY);
        for (String page : PAGES) {
            HttpResponse<String> r = browser.get(page);
            assertThat(r.statusCode()).as(page).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/html"));
            assertThat(r.headers().firstValue("Content-Security-Policy")).isPresent();
            assertThat(r.body()).as(page).doesNotContain(TestNode.ADMIN_KEY, TestNode.WEBHOOK_SECRET, "whsec_");
        }
        HttpResponse<String> task = browser.get("/dashboard/tasks/" + taskId);
        assertThat(task.statusCode()).isEqualTo(200);
        assertThat(task.body()).contains(taskId, "Copy as curl", "$PULSE_KEY", "id=\"cancel\"").doesNotContain(TestNode.ADMIN_KEY);
        assertThat(browser.get("/dashboard/tasks/" + java.util.UUID.randomUUID()).statusCode()).isEqualTo(404);
        assertThat(browser.get("/dashboard/tasks/not-a-uuid").statusCode()).isEqualTo(404);

        DashboardClient behindTls = new DashboardClient(node);
        String formToken = DashboardClient.csrfIn(behindTls.get("/dashboard/login").body()).orElseThrow();
        HttpResponse<String> secure = behindTls.post("/dashboard/login", Map.of("_csrf", formToken, "api_key", TestNode.ADMIN_KEY),
                Map.of("X-Forwarded-Proto", "https"));
        assertThat(DashboardClient.setCookies(secure)).anySatisfy(c -> assertThat(c).startsWith(Cookies.SESSION + "=").contains("Secure"));
    }

    @Test
    void badKeysAndForgedSignInsAreRefused() {
        DashboardClient browser = new DashboardClient(node);
        HttpResponse<String> wrong = browser.signIn("pulse_not_a_key");
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(wrong.body()).contains("unknown or revoked").doesNotContain("pulse_not_a_key");
        assertThat(browser.cookies).doesNotContainKey(Cookies.SESSION);

        DashboardClient forger = new DashboardClient(node); // no sign-in form token: a cross-site sign-in
        assertThat(forger.post("/dashboard/login", Map.of("api_key", TestNode.ADMIN_KEY), Map.of()).statusCode()).isEqualTo(403);
        assertThat(forger.cookies).doesNotContainKey(Cookies.SESSION);

        String metricsOnly = keys.create("scraper", EnumSet.of(Scope.METRICS_READ));
        assertThat(new DashboardClient(node).signIn(metricsOnly).statusCode()).isEqualTo(403);
    }

    @Test
    void everyActionNeedsTheSessionsCsrfToken() throws Exception {
        DashboardClient browser = new DashboardClient(node);
        browser.signIn(TestNode.ADMIN_KEY);
        assertThat(browser.post("/dashboard/schedules/nightly/pause", Map.of(), Map.of()).statusCode()).isEqualTo(403);
        assertThat(browser.post("/dashboard/schedules/nightly/pause", Map.of("_csrf", "wrong"), Map.of()).statusCode()).isEqualTo(403);
        DashboardClient other = new DashboardClient(node);
        other.signIn(TestNode.ADMIN_KEY);
        assertThat(browser.post("/dashboard/schedules/nightly/pause", Map.of("_csrf", other.csrf), Map.of()).statusCode())
                .as("another session's token").isEqualTo(403);
        assertThat(browser.post("/dashboard/logout", Map.of(), Map.of()).statusCode()).isEqualTo(403);
        assertThat(enabled("nightly")).isTrue();

        // htmx sends the token as a header
        HttpResponse<String> paused = browser.post("/dashboard/schedules/nightly/pause", Map.of(),
                Map.of(DashboardGuard.CSRF_HEADER, browser.csrf));
        assertThat(paused.statusCode()).isEqualTo(303);
        assertThat(enabled("nightly")).isFalse();
        assertThat(browser.act("/dashboard/schedules/nightly/resume", Map.of()).statusCode()).isEqualTo(303);
        assertThat(enabled("nightly")).isTrue();
    }

    @Test
    void aReadOnlyKeySeesEverythingButCannotAct() throws Exception {
        DashboardClient reader = new DashboardClient(node);
        assertThat(reader.signIn(readerKey).statusCode()).isEqualTo(303);
        for (String page : PAGES) {
            HttpResponse<String> r = reader.get(page);
            assertThat(r.statusCode()).as(page).isEqualTo(200);
            assertThat(r.body()).as(page).doesNotContain(readerKey);
            if (!page.equals(OverviewPage.LIVE)) {
                assertThat(r.body()).as(page).contains("id=\"read-only\"");
            }
        }
        assertThat(reader.get("/dashboard/tasks").body()).doesNotContain("bulk-retry", "bulk-cancel");
        assertThat(reader.get("/dashboard/tasks/" + taskId).body()).contains(taskId)
                .doesNotContain("id=\"cancel\"", "id=\"retry\"", "/cancel\"");
        assertThat(reader.get("/dashboard/schedules").body()).contains("nightly").doesNotContain("pause-nightly", "trigger-nightly");

        // forged actions with a valid session and token: refused by the server
        assertThat(reader.act("/dashboard/tasks/" + taskId + "/cancel", Map.of()).statusCode()).isEqualTo(403);
        assertThat(reader.act("/dashboard/tasks/" + taskId + "/retry", Map.of()).statusCode()).isEqualTo(403);
        assertThat(reader.act("/dashboard/tasks/bulk", Map.of("action", "cancel", "confirm", "yes")).statusCode()).isEqualTo(403);
        assertThat(reader.act("/dashboard/schedules/nightly/pause", Map.of()).statusCode()).isEqualTo(403);
        assertThat(reader.act("/dashboard/schedules/nightly/trigger", Map.of()).statusCode()).isEqualTo(403);
        assertThat(reader.act("/dashboard/callbacks/" + java.util.UUID.randomUUID() + "/redeliver", Map.of()).statusCode())
                .isEqualTo(403);
        assertThat(state(taskId)).isEqualTo("scheduled");
        assertThat(enabled("nightly")).isTrue();
        assertThat(node.count("SELECT count(*) FROM schedule_fires")).isZero();
    }

    @Test
    void signingOutOrRevokingTheKeyEndsTheSession() {
        DashboardClient browser = new DashboardClient(node);
        browser.signIn(TestNode.ADMIN_KEY);
        String session = browser.cookies.get(Cookies.SESSION);
        HttpResponse<String> out = browser.act("/dashboard/logout", Map.of());
        assertThat(out.statusCode()).isEqualTo(303);
        assertThat(browser.cookies).doesNotContainKey(Cookies.SESSION);
        DashboardClient replay = new DashboardClient(node);
        replay.cookies.put(Cookies.SESSION, session);
        assertThat(replay.get("/dashboard").statusCode()).as("the old cookie after sign-out").isEqualTo(303);

        String temporary = keys.create("temporary", EnumSet.of(Scope.ADMIN));
        DashboardClient holder = new DashboardClient(node);
        holder.signIn(temporary);
        assertThat(holder.get("/dashboard").statusCode()).isEqualTo(200);
        keys.revoke("temporary");
        assertThat(holder.get("/dashboard").statusCode()).isEqualTo(303);
    }

    @Test
    void bulkActionsAskFirstThenActOnTheFilteredSet() throws Exception {
        String marker = "bulk-" + System.nanoTime();
        for (int i = 0; i < 3; i++) {
            node.post("/v1/tasks", "{\"agent\": \"echo\", \"input\": {\"n\": " + i + "}, \"metadata\": {\"batch\": \"" + marker
                    + "\"}, \"delay_seconds\": 3600}");
        }
        DashboardClient browser = new DashboardClient(node);
        browser.signIn(TestNode.ADMIN_KEY);
        HttpResponse<String> list = browser.get("/dashboard/tasks?q=" + marker);
        assertThat(list.body().split("data-task=").length - 1).isEqualTo(3);

        HttpResponse<String> confirm = browser.act("/dashboard/tasks/bulk", Map.of("action", "cancel", "q", marker));
        assertThat(confirm.statusCode()).isEqualTo(200);
        assertThat(confirm.body()).contains("Cancel 3 task(s)?", "id=\"confirm\"");
        assertThat(node.count("SELECT count(*) FROM tasks WHERE state = 'cancelled'")).isZero();

        HttpResponse<String> done = browser.act("/dashboard/tasks/bulk", Map.of("action", "cancel", "q", marker, "confirm", "yes"));
        assertThat(done.statusCode()).isEqualTo(303);
        assertThat(done.headers().firstValue("Location").orElseThrow()).contains("done=cancelled", "n=3");
        assertThat(node.count("SELECT count(*) FROM tasks WHERE state = 'cancelled' AND metadata->>'batch' = '" + marker + "'"))
                .isEqualTo(3);
        assertThat(state(taskId)).as("a task outside the filter").isEqualTo("scheduled");

        HttpResponse<String> retry = browser.act("/dashboard/tasks/bulk", Map.of("action", "retry", "q", marker, "confirm", "yes"));
        assertThat(retry.headers().firstValue("Location").orElseThrow()).contains("n=3");
        assertThat(node.count("SELECT count(*) FROM tasks WHERE state = 'cancelled' AND metadata->>'batch' = '" + marker + "'"))
                .isZero();
    }

    @Test
    void apiRoutesStillNeedAKey() {
        assertThat(new DashboardClient(node).get("/v1/tasks").statusCode()).isEqualTo(401);
    }

    private static String state(String id) throws Exception {
        JsonNode task = json.readTree(node.get("/v1/tasks/" + id).body());
        return task.path("state").asText();
    }

    private static boolean enabled(String schedule) {
        return node.jdbi.withHandle(h -> h.createQuery("SELECT enabled FROM schedules WHERE name = :n").bind("n", schedule)
                .mapTo(Boolean.class).one());
    }
}
