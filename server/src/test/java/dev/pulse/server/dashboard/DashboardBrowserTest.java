package dev.pulse.server.dashboard;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.workers.keys.ApiKeyStore;
import dev.pulse.workers.keys.Scope;
import dev.pulse.workers.testing.TestDatabase;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.TimeoutException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;

/**
 * The dashboard in a real headless Chromium (see {@link Browser}): an operator signs in, queues
 * tasks through the API and watches them finish on the overview without reloading, opens a task and
 * retries it, pauses a schedule; a read-only user sees no buttons and a forged action is refused;
 * screenshots of the main pages are taken on the way.
 */
class DashboardBrowserTest {

    private static final Duration PATIENCE = Duration.ofSeconds(90);
    private static final ObjectMapper json = new ObjectMapper();

    private static TestNode node;
    private static String readerKey;

    @BeforeAll
    static void start() {
        node = new TestNode(TestDatabase.create(), Map.of("PULSE_SHUTDOWN_GRACE", "1s"));
        readerKey =
                new ApiKeyStore(node.jdbi, new SecureRandom())
                        .create("viewer", EnumSet.of(Scope.TASKS_READ, Scope.SCHEDULES_READ));
        assertThat(
                        node.post(
                                        "/v1/schedules",
                                        "{\"name\": \"nightly-digest\", \"cron\": \"30 2 * * *\", \"timezone\": \"Europe/Berlin\","
                                                + " \"agent\": \"echo\", \"input\": {\"text\": \"nightly\"}}")
                                .statusCode())
                .isEqualTo(201);
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void anOperatorWatchesTasksFinishRetriesOneAndPausesASchedule() throws Exception {
        try (Browser browser = Browser.startOrSkip()) {
            // no session: the dashboard sends the browser to sign in
            browser.navigate().to(node.url("/dashboard"));
            assertThat(browser.driver.getCurrentUrl()).endsWith("/dashboard/login");
            signIn(browser, TestNode.ADMIN_KEY);
            assertThat(browser.driver.findElement(By.id("signed-in-as")).getText())
                    .isEqualTo("admin-from-config");
            assertThat(browser.driver.findElements(By.id("read-only"))).isEmpty();

            // queue tasks through the API and watch them finish on the overview, without a reload
            long before = browser.waitUpTo(PATIENCE).until(d -> count(browser, "count-succeeded"));
            browser.script("window.pulseNotReloaded = true;");
            for (int i = 0; i < 5; i++) {
                assertThat(
                                node.post(
                                                "/v1/tasks",
                                                "{\"agent\": \"echo\", \"input\": {\"n\": "
                                                        + i
                                                        + "}}")
                                        .statusCode())
                        .isEqualTo(201);
            }
            browser.waitUpTo(PATIENCE).until(d -> count(browser, "count-succeeded") == before + 5);
            assertThat(browser.script("return window.pulseNotReloaded === true;"))
                    .as("the page was never reloaded")
                    .isEqualTo(true);

            // a cancelled task: find it in the list, open it, retry it
            String id =
                    json.readTree(
                                    node.post(
                                                    "/v1/tasks",
                                                    "{\"agent\": \"echo\", \"input\": {\"again\": true}, \"delay_seconds\": 3600}")
                                            .body())
                            .path("id")
                            .asText();
            assertThat(node.post("/v1/tasks/" + id + "/cancel", "").statusCode()).isEqualTo(200);
            browser.driver.findElement(By.linkText("Tasks")).click();
            new Select(browser.driver.findElement(By.id("filter-state")))
                    .selectByValue("cancelled");
            browser.driver.findElement(By.id("apply-filter")).click();
            browser.waitUpTo(PATIENCE).until(ExpectedConditions.urlContains("state=cancelled"));
            browser.waitUpTo(PATIENCE)
                    .until(
                            d -> {
                                d.findElement(By.cssSelector("tr[data-task='" + id + "'] a"))
                                        .click();
                                return true;
                            });
            browser.waitUpTo(PATIENCE)
                    .until(ExpectedConditions.textToBe(By.id("task-state"), "cancelled"));
            assertThat(browser.driver.findElement(By.id("curl")).getText())
                    .contains("/v1/tasks", "$PULSE_KEY", "\"again\":true");
            browser.driver.findElement(By.id("retry")).click();
            browser.waitUpTo(PATIENCE)
                    .until(
                            ExpectedConditions.textToBePresentInElementLocated(
                                    By.id("notice"), "Queued again"));
            browser.waitUpTo(PATIENCE)
                    .until(
                            d -> {
                                d.navigate().refresh();
                                return d.findElement(By.id("task-state"))
                                        .getText()
                                        .equals("succeeded");
                            });
            assertThat(browser.driver.findElements(By.cssSelector("#attempts tbody tr")))
                    .isNotEmpty();

            // pause a schedule
            browser.driver.findElement(By.linkText("Schedules")).click();
            browser.driver.findElement(By.id("pause-nightly-digest")).click();
            browser.waitUpTo(PATIENCE)
                    .until(
                            ExpectedConditions.presenceOfElementLocated(
                                    By.id("paused-nightly-digest")));
            assertThat(browser.driver.findElement(By.id("notice")).getText())
                    .contains("Paused nightly-digest");
            assertThat(
                            node.count(
                                    "SELECT count(*) FROM schedules WHERE name = 'nightly-digest' AND NOT enabled"))
                    .isEqualTo(1);
            browser.driver.findElement(By.id("resume-nightly-digest")).click();
            browser.waitUpTo(PATIENCE)
                    .until(
                            ExpectedConditions.presenceOfElementLocated(
                                    By.id("pause-nightly-digest")));

            // an action without the CSRF token is refused, even from the signed-in browser
            assertThat(post(browser, "/dashboard/schedules/nightly-digest/pause", null))
                    .isEqualTo(403);
            assertThat(
                            node.count(
                                    "SELECT count(*) FROM schedules WHERE name = 'nightly-digest' AND enabled"))
                    .isEqualTo(1);

            // signing out ends the session
            browser.driver.findElement(By.id("sign-out")).click();
            browser.waitUpTo(PATIENCE).until(ExpectedConditions.urlContains("/dashboard/login"));
            browser.navigate().to(node.url("/dashboard/tasks"));
            assertThat(browser.driver.getCurrentUrl()).endsWith("/dashboard/login");
        }
    }

    @Test
    void aReadOnlyUserSeesEverythingButHasNoButtonsAndForgedActionsAreRefused() throws Exception {
        String id =
                json.readTree(
                                node.post(
                                                "/v1/tasks",
                                                "{\"agent\": \"echo\", \"input\": {}, \"delay_seconds\": 3600}")
                                        .body())
                        .path("id")
                        .asText();
        try (Browser browser = Browser.startOrSkip()) {
            browser.navigate().to(node.url("/dashboard/login"));
            signIn(browser, readerKey);
            assertThat(browser.driver.findElement(By.id("read-only")).getText())
                    .isEqualTo("read-only");
            browser.navigate().to(node.url("/dashboard/tasks/" + id));
            assertThat(browser.driver.findElement(By.id("task-state")).getText())
                    .isEqualTo("scheduled");
            assertThat(browser.driver.findElements(By.id("cancel"))).isEmpty();
            assertThat(browser.driver.findElements(By.id("retry"))).isEmpty();
            assertThat(browser.driver.findElements(By.id("copy-curl"))).hasSize(1);
            browser.navigate().to(node.url("/dashboard/tasks"));
            assertThat(browser.driver.findElements(By.id("bulk-cancel"))).isEmpty();
            browser.navigate().to(node.url("/dashboard/schedules"));
            assertThat(browser.driver.findElement(By.id("schedules")).getText())
                    .contains("nightly-digest");
            assertThat(browser.driver.findElements(By.cssSelector("#schedules button"))).isEmpty();

            // the page's own CSRF token does not make a forged action allowed
            String csrf =
                    (String) browser.script("return document.body.getAttribute('hx-headers');");
            String token = json.readTree(csrf).path("X-CSRF-Token").asText();
            assertThat(token).isNotBlank();
            assertThat(post(browser, "/dashboard/tasks/" + id + "/cancel", token)).isEqualTo(403);
            assertThat(post(browser, "/dashboard/schedules/nightly-digest/trigger", token))
                    .isEqualTo(403);
            assertThat(json.readTree(node.get("/v1/tasks/" + id).body()).path("state").asText())
                    .isEqualTo("scheduled");
        }
    }

    @Test
    void screenshotsOfTheMainPages() throws Exception {
        Path dir = Path.of(System.getProperty("pulse.screenshots", "target/screenshots"));
        List<String> running = new ArrayList<>();
        String failedId = null;
        for (int i = 0; i < 14; i++) {
            node.post(
                    "/v1/tasks",
                    "{\"agent\": \"echo\", \"input\": {\"ticket\": \"T-"
                            + (100 + i)
                            + "\"}, \"metadata\": {\"team\": \"search\"}}");
        }
        for (int i = 0; i < 3; i++) {
            var created =
                    node.post(
                            "/v1/tasks",
                            "{\"agent\": \"sleep\", \"input\": {\"ms\": -1}, \"max_attempts\": 2,"
                                    + " \"retry\": {\"base_seconds\": 0, \"max_seconds\": 0}, \"callback_url\": \"http://127.0.0.1:9/hook\"}");
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
            failedId = json.readTree(created.body()).path("id").asText();
        }
        for (int i = 0; i < 2; i++) {
            running.add(
                    json.readTree(
                                    node.post(
                                                    "/v1/tasks",
                                                    "{\"agent\": \"sleep\", \"input\": {\"ms\": 120000}}")
                                            .body())
                            .path("id")
                            .asText());
        }
        node.post(
                "/v1/tasks",
                "{\"agent\": \"word-count\", \"input\": {\"text\": \"later\"}, \"delay_seconds\": 600}");
        node.post(
                "/v1/schedules",
                "{\"name\": \"hourly-sync\", \"cron\": \"@hourly\", \"agent\": \"echo\"}");
        node.post("/v1/schedules/hourly-sync/trigger", "");
        String last = failedId;
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (System.nanoTime() < deadline
                && (node.count("SELECT count(*) FROM tasks WHERE state = 'failed'") < 3
                        || node.count("SELECT count(*) FROM tasks WHERE state = 'running'") < 2)) {
            Thread.sleep(200);
        }
        try (Browser browser = Browser.startOrSkip()) {
            browser.navigate().to(node.url("/dashboard/login"));
            signIn(browser, TestNode.ADMIN_KEY);
            // the rollup is written every few seconds: wait until the chart has the finished work
            browser.waitUpTo(PATIENCE)
                    .until(d -> !d.findElement(By.id("hour-failed")).getText().equals("0"));
            browser.screenshot(dir.resolve("overview.png"));
            browser.navigate().to(node.url("/dashboard/tasks"));
            browser.screenshot(dir.resolve("tasks.png"));
            browser.navigate().to(node.url("/dashboard/tasks/" + last));
            browser.waitUpTo(PATIENCE)
                    .until(
                            d -> {
                                d.navigate().refresh();
                                return !d.findElements(By.cssSelector("#deliveries .badge"))
                                        .isEmpty();
                            });
            browser.screenshot(dir.resolve("task-detail.png"));
            browser.navigate().to(node.url("/dashboard/schedules"));
            browser.screenshot(dir.resolve("schedules.png"));
            browser.navigate().to(node.url("/dashboard/agents"));
            browser.screenshot(dir.resolve("agents.png"));
            browser.navigate().to(node.url("/dashboard/nodes"));
            browser.screenshot(dir.resolve("nodes.png"));
            browser.navigate().to(node.url("/dashboard/callbacks"));
            browser.screenshot(dir.resolve("callbacks.png"));
            browser.navigate().to(node.url("/dashboard/login"));
            browser.screenshot(dir.resolve("login.png"));
            assertThat(dir.resolve("overview.png")).isNotEmptyFile();
        } finally {
            running.forEach(id -> node.post("/v1/tasks/" + id + "/cancel", ""));
        }
    }

    private static void signIn(Browser browser, String key) {
        WebElement field = browser.driver.findElement(By.id("api_key"));
        field.sendKeys(key);
        browser.driver.findElement(By.id("sign-in")).click();
        try {
            browser.waitUpTo(PATIENCE)
                    .until(ExpectedConditions.presenceOfElementLocated(By.id("signed-in-as")));
        } catch (TimeoutException e) {
            throw new AssertionError(
                    "not signed in; at "
                            + browser.driver.getCurrentUrl()
                            + ": "
                            + browser.driver.getPageSource(),
                    e);
        }
        assertThat(browser.driver.manage().getCookieNamed(Cookies.SESSION).isHttpOnly()).isTrue();
        assertThat(browser.driver.getPageSource()).doesNotContain(key);
    }

    private static long count(Browser browser, String id) {
        String text =
                browser.driver.findElement(By.id(id)).findElement(By.className("value")).getText();
        return Long.parseLong(text.replace(",", "").replace("+", ""));
    }

    /**
     * A POST from the page's own origin with fetch(), as forged by a script; returns the status.
     */
    private static long post(Browser browser, String path, String csrfToken) {
        Object status =
                browser.asyncScript(
                        """
                const done = arguments[arguments.length - 1];
                const headers = {'Content-Type': 'application/x-www-form-urlencoded'};
                if (arguments[1]) { headers['X-CSRF-Token'] = arguments[1]; }
                fetch(arguments[0], {method: 'POST', headers: headers, body: '', redirect: 'manual'})
                    .then(r => done(r.status)).catch(e => done(-1));
                """,
                        path,
                        csrfToken);
        return ((Number) status).longValue();
    }
}
