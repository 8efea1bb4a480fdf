package dev.pulse.server.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.workers.keys.ApiKeyStore;
import dev.pulse.workers.keys.Scope;
import java.net.http.HttpResponse;
import java.security.SecureRandom;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
    private static final List<String> PAGES =
            List.of(
                    "/dashboard",
                    "/dashboard/overview/live",
                    "/dashboard/tasks",
                    "/dashboard/schedules",
                    "/dashboard/agents",
                    "/dashboard/nodes",
                    "/dashboard/callbacks");

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
        taskId =
                json.readTree(
                                node.post(
                                                "/v1/tasks",
                                                "{\"agent\": \"echo\", \"input\": {\"n\": 1}, \"delay_seconds\": 3600}")
                                        .body())
                        .path("id")
                        .asText();
        assertThat(
                        node.post(
                                        "/v1/schedules",
                                        "{\"name\": \"nightly\", \"cron\": \"0 2 * * *\", \"agent\": \"echo\"}")
                                .statusCode())
                .isEqualTo(201);
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
        HttpResponse<String> htmx =
                anonymous.get("/dashboard/overview/live", Map.of("HX-Request", "true"));
        assertThat(htmx.statusCode()).isEqualTo(401);
        assertThat(htmx.headers().firstValue("HX-Redirect")).hasValue("/dashboard/login");
        HttpResponse<String> action =
                anonymous.post("/dashboard/tasks/" + taskId + "/cancel", Map.of(), Map.of());
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
        String cookie =
                DashboardClient.setCookies(signIn).stream()
                        .filter(c -> c.startsWith(Cookies.SESSION + "="))
                        .findFirst()
                        .orElseThrow();
        assertThat(cookie)
                .contains("HttpOnly", "SameSite=Strict", "Path=/dashboard")
                .doesNotContain("Secure")
                .doesNotContain(TestNode.ADMIN_KEY);
        for (String page : PAGES) {
            HttpResponse<String> r = browser.get(page);
            assertThat(r.statusCode()).as(page).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type"))
                    .hasValueSatisfying(v -> assertThat(v).startsWith("text/html"));
            assertThat(r.headers().firstValue("Content-Security-Policy")).isPresent();
            assertThat(r.body())
                    .as(page)
                    .doesNotContain(TestNode.ADMIN_KEY, TestNode.WEBHOOK_SECRET, "whsec_");
        }
        HttpResponse<String> task = browser.get("/dashboard/tasks/" + taskId);
        assertThat(task.statusCode()).isEqualTo(200);
        assertThat(task.body())
                .contains(taskId, "Copy as curl", "$PULSE_KEY", "id=\"cancel\"")
                .doesNotContain(TestNode.ADMIN_KEY);
        assertThat(browser.get("/dashboard/tasks/" + UUID.randomUUID()).statusCode())
                .isEqualTo(404);
        assertThat(browser.get("/dashboard/tasks/not-a-uuid").statusCode()).isEqualTo(404);

        DashboardClient behindTls = new DashboardClient(node);
        String formToken =
                DashboardClient.csrfIn(behindTls.get("/dashboard/login").body()).orElseThrow();
        HttpResponse<String> secure =
                behindTls.post(
                        "/dashboard/login",
                        Map.of("_csrf", formToken, "api_key", TestNode.ADMIN_KEY),
                        Map.of("X-Forwarded-Proto", "https"));
        assertThat(DashboardClient.setCookies(secure))
                .anySatisfy(
                        c -> assertThat(c).startsWith(Cookies.SESSION + "=").contains("Secure"));
    }

    @Test
    void badKeysAndForgedSignInsAreRefused() {
        DashboardClient browser = new DashboardClient(node);
        HttpResponse<String> wrong = browser.signIn("pulse_not_a_key");
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(wrong.body()).contains("unknown or revoked").doesNotContain("pulse_not_a_key");
        assertThat(browser.cookies).doesNotContainKey(Cookies.SESSION);

        DashboardClient forger =
                new DashboardClient(node); // no sign-in form token: a cross-site sign-in
        assertThat(
                        forger.post(
                                        "/dashboard/login",
                                        Map.of("api_key", TestNode.ADMIN_KEY),
                                        Map.of())
                                .statusCode())
                .isEqualTo(403);
        assertThat(forger.cookies).doesNotContainKey(Cookies.SESSION);

        String metricsOnly = keys.create("scraper", EnumSet.of(Scope.METRICS_READ));
        assertThat(new DashboardClient(node).signIn(metricsOnly).statusCode()).isEqualTo(403);
        String asyncAgent =
                keys.create("async-function", EnumSet.of(Scope.TASKS_COMPLETE, Scope.METRICS_READ));
        assertThat(new DashboardClient(node).signIn(asyncAgent).statusCode())
                .as("a key for reporting results")
                .isEqualTo(403);
    }

    @Test
    void everyActionNeedsTheSessionsCsrfToken() throws Exception {
        DashboardClient browser = new DashboardClient(node);
        browser.signIn(TestNode.ADMIN_KEY);
        assertThat(
                        browser.post("/dashboard/schedules/nightly/pause", Map.of(), Map.of())
                                .statusCode())
                .isEqualTo(403);
        assertThat(
                        browser.post(
                                        "/dashboard/schedules/nightly/pause",
                                        Map.of("_csrf", "wrong"),
                                        Map.of())
                                .statusCode())
                .isEqualTo(403);
        DashboardClient other = new DashboardClient(node);
        other.signIn(TestNode.ADMIN_KEY);
        assertThat(
                        browser.post(
                                        "/dashboard/schedules/nightly/pause",
                                        Map.of("_csrf", other.csrf),
                                        Map.of())
                                .statusCode())
                .as("another session's token")
                .isEqualTo(403);
        assertThat(browser.post("/dashboard/logout", Map.of(), Map.of()).statusCode())
                .isEqualTo(403);
        assertThat(enabled("nightly")).isTrue();

        // htmx sends the token as a header
        HttpResponse<String> paused =
                browser.post(
                        "/dashboard/schedules/nightly/pause",
                        Map.of(),
                        Map.of(DashboardGuard.CSRF_HEADER, browser.csrf));
        assertThat(paused.statusCode()).isEqualTo(303);
        assertThat(enabled("nightly")).isFalse();
        assertThat(browser.act("/dashboard/schedules/nightly/resume", Map.of()).statusCode())
                .isEqualTo(303);
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
        assertThat(reader.get("/dashboard/tasks").body())
                .doesNotContain("bulk-retry", "bulk-cancel");
        assertThat(reader.get("/dashboard/tasks/" + taskId).body())
                .contains(taskId)
                .doesNotContain("id=\"cancel\"", "id=\"retry\"", "/cancel\"");
        assertThat(reader.get("/dashboard/schedules").body())
                .contains("nightly")
                .doesNotContain("pause-nightly", "trigger-nightly");

        // forged actions with a valid session and token: refused by the server
        assertThat(reader.act("/dashboard/tasks/" + taskId + "/cancel", Map.of()).statusCode())
                .isEqualTo(403);
        assertThat(reader.act("/dashboard/tasks/" + taskId + "/retry", Map.of()).statusCode())
                .isEqualTo(403);
        assertThat(
                        reader.act(
                                        "/dashboard/tasks/bulk",
                                        Map.of("action", "cancel", "confirm", "yes"))
                                .statusCode())
                .isEqualTo(403);
        assertThat(reader.act("/dashboard/schedules/nightly/pause", Map.of()).statusCode())
                .isEqualTo(403);
        assertThat(reader.act("/dashboard/schedules/nightly/trigger", Map.of()).statusCode())
                .isEqualTo(403);
        assertThat(
                        reader.act(
                                        "/dashboard/callbacks/" + UUID.randomUUID() + "/redeliver",
                                        Map.of())
                                .statusCode())
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
        assertThat(replay.get("/dashboard").statusCode())
                .as("the old cookie after sign-out")
                .isEqualTo(303);

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
            node.post(
                    "/v1/tasks",
                    "{\"agent\": \"echo\", \"input\": {\"n\": "
                            + i
                            + "}, \"metadata\": {\"batch\": \""
                            + marker
                            + "\"}, \"delay_seconds\": 3600}");
        }
        DashboardClient browser = new DashboardClient(node);
        browser.signIn(TestNode.ADMIN_KEY);
        HttpResponse<String> list = browser.get("/dashboard/tasks?q=" + marker);
        assertThat(list.body().split("data-task=").length - 1).isEqualTo(3);

        HttpResponse<String> confirm =
                browser.act("/dashboard/tasks/bulk", Map.of("action", "cancel", "q", marker));
        assertThat(confirm.statusCode()).isEqualTo(200);
        assertThat(confirm.body()).contains("Cancel 3 task(s)?", "id=\"confirm\"");
        assertThat(
                        node.count(
                                "SELECT count(*) FROM tasks WHERE state = 'cancelled' AND metadata->>'batch' = '"
                                        + marker
                                        + "'"))
                .isZero();

        HttpResponse<String> done =
                browser.act(
                        "/dashboard/tasks/bulk",
                        Map.of("action", "cancel", "q", marker, "confirm", "yes"));
        assertThat(done.statusCode()).isEqualTo(303);
        assertThat(done.headers().firstValue("Location").orElseThrow())
                .contains("done=cancelled", "n=3");
        assertThat(
                        node.count(
                                "SELECT count(*) FROM tasks WHERE state = 'cancelled' AND metadata->>'batch' = '"
                                        + marker
                                        + "'"))
                .isEqualTo(3);
        assertThat(state(taskId)).as("a task outside the filter").isEqualTo("scheduled");

        HttpResponse<String> retry =
                browser.act(
                        "/dashboard/tasks/bulk",
                        Map.of("action", "retry", "q", marker, "confirm", "yes"));
        assertThat(retry.headers().firstValue("Location").orElseThrow()).contains("n=3");
        assertThat(
                        node.count(
                                "SELECT count(*) FROM tasks WHERE state = 'cancelled' AND metadata->>'batch' = '"
                                        + marker
                                        + "'"))
                .isZero();
    }

    @Test
    void tasksArePagedByKeysetAndFilteredByTimeRange() throws Exception {
        String marker = "page-" + System.nanoTime();
        StringBuilder batch = new StringBuilder("{\"tasks\": [");
        for (int i = 0; i < 55; i++) {
            batch.append(i == 0 ? "" : ",")
                    .append(
                            "{\"agent\": \"echo\", \"delay_seconds\": 3600, \"metadata\": {\"m\": \"")
                    .append(marker)
                    .append("\"}}");
        }
        assertThat(node.post("/v1/tasks/batch", batch.append("]}").toString()).statusCode())
                .isIn(200, 201, 207);
        DashboardClient browser = new DashboardClient(node);
        browser.signIn(TestNode.ADMIN_KEY);
        String first = browser.get("/dashboard/tasks?q=" + marker).body();
        assertThat(first.split("data-task=").length - 1).isEqualTo(50);
        Matcher next = Pattern.compile("href=\"([^\"]+)\" id=\"next-page\"").matcher(first);
        assertThat(next.find()).isTrue();
        String second = browser.get(next.group(1).replace("&amp;", "&")).body();
        assertThat(second.split("data-task=").length - 1).isEqualTo(5);
        assertThat(second).doesNotContain("id=\"next-page\"").contains("id=\"first-page\"");

        String future = LocalDateTime.now(ZoneOffset.UTC).plusHours(1).withNano(0).toString();
        assertThat(browser.get("/dashboard/tasks?q=" + marker + "&from=" + future).body())
                .contains("No task matches.");
        assertThat(
                        browser.get("/dashboard/tasks?q=" + marker + "&to=" + future)
                                        .body()
                                        .split("data-task=")
                                        .length
                                - 1)
                .isEqualTo(50);
        assertThat(browser.get("/dashboard/tasks?from=yesterday").body())
                .contains("is not a date and time");
    }

    @Test
    void aDeadCallbackCanBeRedelivered() throws Exception {
        String id =
                json.readTree(
                                node.post(
                                                "/v1/tasks",
                                                "{\"agent\": \"echo\", \"delay_seconds\": 3600, "
                                                        + "\"callback_url\": \"http://127.0.0.1:9/hook\"}")
                                        .body())
                        .path("id")
                        .asText();
        assertThat(node.post("/v1/tasks/" + id + "/cancel", "").statusCode()).isEqualTo(200);
        node.jdbi.useHandle(
                h ->
                        h.execute(
                                "UPDATE callback_deliveries SET state = 'dead', attempts = 8, "
                                        + "next_attempt_at = now() + interval '1 hour', last_error = 'gave up' WHERE task_id = CAST(? AS uuid)",
                                id));
        String delivery =
                node.jdbi.withHandle(
                        h ->
                                h.createQuery(
                                                "SELECT id FROM callback_deliveries WHERE task_id = CAST(:t AS uuid)")
                                        .bind("t", id)
                                        .mapTo(String.class)
                                        .one());
        DashboardClient browser = new DashboardClient(node);
        browser.signIn(TestNode.ADMIN_KEY);
        assertThat(browser.get("/dashboard/callbacks").body()).contains(delivery, "gave up");
        assertThat(browser.get("/dashboard/tasks/" + id).body()).contains("redeliver-" + delivery);

        HttpResponse<String> redelivered =
                browser.act(
                        "/dashboard/callbacks/" + delivery + "/redeliver",
                        Map.of("return_to", "/dashboard/callbacks"));
        assertThat(redelivered.statusCode()).isEqualTo(303);
        assertThat(redelivered.headers().firstValue("Location"))
                .hasValue("/dashboard/callbacks?done=redelivered");
        assertThat(
                        node.count(
                                "SELECT count(*) FROM callback_deliveries WHERE task_id = '"
                                        + id
                                        + "' AND state <> 'dead'"))
                .isEqualTo(1);
        assertThat(
                        browser.act(
                                        "/dashboard/callbacks/" + UUID.randomUUID() + "/redeliver",
                                        Map.of())
                                .statusCode())
                .isEqualTo(404);
    }

    @Test
    void theNodesPageTimesARetriedTaskFromItsCurrentAttempt() throws Exception {
        // This class's node is the only one alive in its database.
        String nodeId =
                node.jdbi.withHandle(
                        h ->
                                h.createQuery(
                                                "SELECT id FROM nodes WHERE heartbeat_at > now() - interval '1 minute'")
                                        .mapTo(String.class)
                                        .one());
        String id =
                json.readTree(
                                node.post(
                                                "/v1/tasks",
                                                "{\"agent\": \"echo\", \"delay_seconds\": 3600}")
                                        .body())
                        .path("id")
                        .asText();
        // Its second attempt started 30 s ago on this node; its first, three hours ago.
        node.jdbi.useHandle(
                h -> {
                    h.execute(
                            "UPDATE tasks SET state = 'running', attempts = 2, lease_token = gen_random_uuid(), lease_owner = ?,"
                                    + " lease_expires_at = now() + interval '1 hour', started_at = now() - interval '3 hours',"
                                    + " attempt_started_at = now() - interval '30 seconds'"
                                    + " WHERE id = CAST(? AS uuid)",
                            nodeId,
                            id);
                    h.execute(
                            "INSERT INTO task_attempts (task_id, attempt, node, lease_token, started_at, finished_at, outcome)"
                                    + " SELECT id, 1, ?, gen_random_uuid(), now() - interval '3 hours', now() - interval '2 hours', 'failed'"
                                    + " FROM tasks WHERE id = CAST(? AS uuid)",
                            nodeId,
                            id);
                });
        try {
            DashboardClient browser = new DashboardClient(node);
            browser.signIn(TestNode.ADMIN_KEY);
            String row =
                    browser.get("/dashboard/nodes")
                            .body()
                            .replaceAll(
                                    "(?s).*(<tr><td class=\"mono\"><a href=\"/dashboard/tasks/"
                                            + id
                                            + "\">.*?</tr>).*",
                                    "$1");

            assertThat(row)
                    .startsWith("<tr>")
                    .contains(id)
                    .containsPattern("<td>3[0-9]\\.[0-9] s</td>")
                    .doesNotContain(" h ");
        } finally {
            node.jdbi.useHandle(
                    h ->
                            h.execute(
                                    "UPDATE tasks SET state = 'cancelled', finished_at = now(), lease_token = NULL,"
                                            + " lease_owner = NULL, lease_expires_at = NULL WHERE id = CAST(? AS uuid)",
                                    id));
        }
    }

    @Test
    void aSessionWorksOnEveryApiNodeOfTheDatabaseAndWorkerNodesServeNoDashboard() {
        DashboardClient browser = new DashboardClient(node);
        browser.signIn(TestNode.ADMIN_KEY);
        try (TestNode otherApi = new TestNode(node.database, Map.of("PULSE_ROLES", "api"));
                TestNode worker = new TestNode(node.database, Map.of("PULSE_ROLES", "worker"))) {
            DashboardClient sameBrowser = new DashboardClient(otherApi);
            sameBrowser.cookies.putAll(browser.cookies);
            sameBrowser.csrf = browser.csrf;
            assertThat(sameBrowser.get("/dashboard/tasks").statusCode()).isEqualTo(200);
            assertThat(
                            sameBrowser
                                    .act("/dashboard/schedules/nightly/resume", Map.of())
                                    .statusCode())
                    .isEqualTo(303);
            assertThat(new DashboardClient(worker).get("/dashboard").statusCode()).isEqualTo(404);
        }
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
        return node.jdbi.withHandle(
                h ->
                        h.createQuery("SELECT enabled FROM schedules WHERE name = :n")
                                .bind("n", schedule)
                                .mapTo(Boolean.class)
                                .one());
    }
}
