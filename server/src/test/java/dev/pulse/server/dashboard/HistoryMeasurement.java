package dev.pulse.server.dashboard;

import dev.pulse.server.PulseNode;
import dev.pulse.server.TestNode;
import dev.pulse.server.config.ConfigLoader;
import dev.pulse.server.config.PulseConfig;
import dev.pulse.workers.db.Database;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.testing.TestDatabase;
import java.io.IOException;
import java.io.InputStream;
import java.net.CookieManager;
import java.net.CookiePolicy;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * A measurement, not a test (no assertion on time): how long every dashboard page and every
 * documented {@code GET /v1/tasks} filter takes to answer over HTTP with a big history of finished
 * tasks present (10,000,000 by default), and how much database time one refresh of the overview
 * costs. The history is written straight into the tables by {@code measure/history-fill.sql}
 * (INSERT … SELECT generate_series, in chunks of 500,000, then VACUUM ANALYZE), once: a database
 * named with {@code -Dpulse.measure.database} is reused when it already holds the history. Off in
 * the normal build; run with
 *
 * <pre>mvn -B -q verify -pl server -am -Dtest=HistoryMeasurement -Dpulse.measure=true \
 *     -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dpulse.measure.database='jdbc:postgresql://127.0.0.1:5432/pulse_history?user=postgres' \
 *     [-Dpulse.measure.tasks=10000000]</pre>
 *
 * and read the table from its output (recorded in docs/benchmarks.md).
 */
@EnabledIfSystemProperty(
        named = "pulse.measure",
        matches = "true",
        disabledReason =
                "a measurement, not a test (it asserts nothing about speed): run it with"
                        + " -Dpulse.measure=true -Dtest=HistoryMeasurement, as its class comment shows")
class HistoryMeasurement {

    private static final int SAMPLES = Integer.getInteger("pulse.measure.samples", 7);
    private static final int CHUNK = 500_000;

    @Test
    void measure() throws Exception {
        long tasks = Long.getLong("pulse.measure.tasks", 10_000_000L);
        String url = System.getProperty("pulse.measure.database");
        DatabaseUrl database = url == null ? TestDatabase.create() : DatabaseUrl.parse(url);
        Map<String, String> env = new HashMap<>(TestNode.baseEnvironment(database));
        env.put("PULSE_RETENTION", "3650d"); // the history is up to 7 days old: keep it
        env.put("PULSE_LEASE_SECONDS", "30");
        env.put("PULSE_WORKER_POLL_INTERVAL", "500ms");
        PulseConfig config = new ConfigLoader(env::get).load(null);
        // No response check here (TestNode's): it would be timed with the answers.
        // A pool of its own, as a node's, so that the overview's queries are timed without the
        // cost of opening connections.
        try (PulseNode node = PulseNode.start(config, Clock.systemUTC(), env::get);
                Database pool = Database.connect(database, 2)) {
            Jdbi jdbi = pool.jdbi();
            fill(jdbi, tasks);
            String base = "http://127.0.0.1:" + node.port();
            HttpClient http =
                    HttpClient.newBuilder()
                            .cookieHandler(new CookieManager(null, CookiePolicy.ACCEPT_ALL))
                            .followRedirects(HttpClient.Redirect.NEVER)
                            .build();
            signIn(http, base);
            Probe probe = new Probe(jdbi);
            Map<String, String> rows = new LinkedHashMap<>();
            Map<String, String> pages = new LinkedHashMap<>();
            pages.put("overview `/dashboard`", "/dashboard");
            pages.put("overview refresh `/dashboard/overview/live`", "/dashboard/overview/live");
            pages.put("tasks, no filter", "/dashboard/tasks");
            pages.put("tasks, page 2", "/dashboard/tasks?cursor=" + probe.newestId);
            pages.put("tasks, state=queued (none)", "/dashboard/tasks?state=queued");
            pages.put("tasks, state=failed", "/dashboard/tasks?state=failed");
            pages.put("tasks, agent=rare-agent", "/dashboard/tasks?agent=rare-agent");
            pages.put(
                    "tasks, agent=translate, state=cancelled",
                    "/dashboard/tasks?agent=translate&state=cancelled");
            pages.put("tasks, schedule=nightly-3", "/dashboard/tasks?schedule=nightly-3");
            pages.put(
                    "tasks, created in one hour 3 days ago",
                    "/dashboard/tasks?from=" + probe.from + "&to=" + probe.to);
            pages.put("tasks, text found at once (`doc-`)", "/dashboard/tasks?q=doc-");
            pages.put("tasks, text found nowhere", "/dashboard/tasks?q=no-such-text");
            pages.put(
                    "tasks, text, agent=rare-agent (found nowhere)",
                    "/dashboard/tasks?agent=rare-agent&q=no-such-text");
            pages.put("task detail (3 days old)", "/dashboard/tasks/" + probe.oldId);
            pages.put("agents", "/dashboard/agents");
            pages.put("nodes", "/dashboard/nodes");
            pages.put("schedules", "/dashboard/schedules");
            pages.put("callbacks", "/dashboard/callbacks");
            pages.forEach(
                    (name, path) ->
                            rows.put(
                                    name,
                                    timed(
                                            http,
                                            base + path,
                                            null,
                                            path.startsWith("/dashboard/overview")
                                                    || path.equals("/dashboard"))));
            Map<String, String> api = new LinkedHashMap<>();
            api.put("no filter", "");
            api.put("limit=500", "?limit=500");
            api.put("cursor (page 2)", "?cursor=" + probe.newestId);
            for (String state :
                    List.of("scheduled", "queued", "running", "succeeded", "failed", "cancelled")) {
                api.put("state=" + state, "?state=" + state);
            }
            api.put("agent=summarize (50 %)", "?agent=summarize");
            api.put("agent=rare-agent (0.1 %)", "?agent=rare-agent");
            api.put("agent=no-such-agent", "?agent=no-such-agent");
            api.put("agent=rare-agent&state=failed", "?agent=rare-agent&state=failed");
            api.put("agent=summarize&state=queued", "?agent=summarize&state=queued");
            api.put("schedule=nightly-3", "?schedule=nightly-3");
            api.put("schedule=nightly-3&state=cancelled", "?schedule=nightly-3&state=cancelled");
            api.put("concurrency_key=tenant-7", "?concurrency_key=tenant-7");
            api.put(
                    "concurrency_key=tenant-7&state=failed",
                    "?concurrency_key=tenant-7&state=failed");
            api.put(
                    "agent=rare-agent&concurrency_key=tenant-7",
                    "?agent=rare-agent&concurrency_key=tenant-7");
            api.put("agent=echo&schedule=nightly-3", "?agent=echo&schedule=nightly-3");
            api.forEach(
                    (name, query) ->
                            rows.put(
                                    "`GET /v1/tasks` " + name,
                                    timed(
                                            http,
                                            base + "/v1/tasks" + query,
                                            TestNode.ADMIN_KEY,
                                            false)));
            rows.put(
                    "`GET /v1/tasks/{id}` (3 days old)",
                    timed(http, base + "/v1/tasks/" + probe.oldId, TestNode.ADMIN_KEY, false));
            rows.put(
                    "`GET /v1/tasks/{id}/attempts`",
                    timed(
                            http,
                            base + "/v1/tasks/" + probe.oldId + "/attempts",
                            TestNode.ADMIN_KEY,
                            false));
            OverviewQueries queries = new OverviewQueries(jdbi);
            rows.put(
                    "overview's queries, database only (one refresh)",
                    sampled(
                            () -> {
                                queries.stateCounts();
                                queries.byAgent();
                                queries.lastHour();
                                queries.liveNodes(Duration.ofSeconds(30));
                                return 0;
                            }));
            StringBuilder out = new StringBuilder();
            out.append("\nhistory: ")
                    .append(String.format("%,d", tasks))
                    .append(" finished tasks; median of ")
                    .append(SAMPLES)
                    .append(
                            " calls (min – max), ms\n\n| request | median | min – max |\n|---|---:|---|\n");
            rows.forEach(
                    (name, figures) -> out.append("| ").append(name).append(figures).append('\n'));
            System.out.println(out);
        }
    }

    /** Writes the history unless the database already holds it. */
    private static void fill(Jdbi jdbi, long tasks) throws IOException {
        long present =
                jdbi.withHandle(
                        h ->
                                h.createQuery(
                                                "SELECT count(*) FROM (SELECT 1 FROM tasks LIMIT :n) t")
                                        .bind("n", tasks)
                                        .mapTo(Long.class)
                                        .one());
        if (present >= tasks) {
            System.out.println("history: " + present + " tasks already present");
            return;
        }
        String sql;
        try (InputStream in =
                HistoryMeasurement.class.getResourceAsStream("/measure/history-fill.sql")) {
            sql =
                    new String(in.readAllBytes(), StandardCharsets.UTF_8)
                            .lines()
                            .filter(l -> !l.startsWith("--"))
                            .collect(Collectors.joining("\n"));
        }
        for (long lo = present; lo < tasks; lo += CHUNK) {
            long from = lo;
            long to = Math.min(tasks, lo + CHUNK);
            jdbi.useHandle(
                    h -> {
                        h.execute("SET synchronous_commit = off");
                        h.createUpdate(sql)
                                .bind("lo", from)
                                .bind("hi", to)
                                .bind("n", tasks)
                                .execute();
                    });
            System.out.println("history: " + to + " tasks written");
        }
        jdbi.useHandle(
                h -> {
                    h.execute("VACUUM ANALYZE tasks");
                    h.execute("VACUUM ANALYZE task_attempts");
                    h.execute("VACUUM ANALYZE callback_deliveries");
                });
    }

    /** Ids and times to ask for: the newest task, one three days old, an hour three days ago. */
    private static final class Probe {
        final String newestId;
        final String oldId;
        final String from;
        final String to;

        Probe(Jdbi jdbi) {
            newestId =
                    jdbi.withHandle(
                            h ->
                                    h.createQuery("SELECT id FROM tasks ORDER BY id DESC LIMIT 1")
                                            .mapTo(String.class)
                                            .one());
            Instant threeDaysAgo = Instant.now().minus(3, ChronoUnit.DAYS);
            oldId =
                    jdbi.withHandle(
                            h ->
                                    h.createQuery(
                                                    "SELECT id FROM tasks WHERE created_at < :t ORDER BY id DESC LIMIT 1")
                                            .bind("t", threeDaysAgo)
                                            .mapTo(String.class)
                                            .one());
            LocalDateTime start =
                    LocalDateTime.ofInstant(threeDaysAgo, ZoneOffset.UTC)
                            .truncatedTo(ChronoUnit.MINUTES);
            from = start.toString();
            to = start.plusHours(1).toString();
        }
    }

    private static void signIn(HttpClient http, String base) throws Exception {
        String form = send(http, get(base + "/dashboard/login", null)).body();
        String csrf = DashboardClient.csrfIn(form).orElseThrow();
        String body =
                "_csrf="
                        + URLEncoder.encode(csrf, StandardCharsets.UTF_8)
                        + "&api_key="
                        + URLEncoder.encode(TestNode.ADMIN_KEY, StandardCharsets.UTF_8);
        HttpResponse<String> signedIn =
                send(
                        http,
                        HttpRequest.newBuilder(URI.create(base + "/dashboard/login"))
                                .header("Content-Type", "application/x-www-form-urlencoded")
                                .POST(HttpRequest.BodyPublishers.ofString(body))
                                .build());
        if (signedIn.statusCode() != 303) {
            throw new IllegalStateException("not signed in: " + signedIn.statusCode());
        }
    }

    /**
     * Median, min and max of {@link #SAMPLES} calls after one warm-up; {@code uncached}: a second
     * apart, past the overview's one-second cache, so that every call reads the database.
     */
    private static String timed(HttpClient http, String url, String key, boolean uncached) {
        List<Integer> failures = new ArrayList<>();
        String figures =
                sampled(
                        () -> {
                            if (uncached) {
                                sleep(1100);
                            }
                        },
                        () -> {
                            HttpResponse<String> r = send(http, get(url, key));
                            if (r.statusCode() != 200) {
                                failures.add(r.statusCode());
                            }
                            return r.body().length();
                        });
        return failures.isEmpty() ? figures : figures + " answered " + failures + " |";
    }

    private static String sampled(Supplier<Integer> call) {
        return sampled(() -> {}, call);
    }

    /** {@code before} runs ahead of each call, untimed. */
    private static String sampled(Runnable before, Supplier<Integer> call) {
        before.run();
        call.get();
        List<Double> ms = new ArrayList<>();
        for (int i = 0; i < SAMPLES; i++) {
            before.run();
            long start = System.nanoTime();
            call.get();
            ms.add((System.nanoTime() - start) / 1e6);
        }
        Collections.sort(ms);
        return String.format(
                " | %.1f | %.1f – %.1f |", ms.get(ms.size() / 2), ms.get(0), ms.get(ms.size() - 1));
    }

    private static HttpRequest get(String url, String key) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).GET();
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return b.build();
    }

    private static HttpResponse<String> send(HttpClient http, HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException(request.uri() + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
