package dev.pulse.server.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.pulse.server.TestNode;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.testing.TestDatabase;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The Grafana dashboard (deploy/grafana/pulse.json) and the Prometheus alerting rules
 * (deploy/prometheus/pulse-rules.yaml): the rules pass their unit tests under {@code promtool test
 * rules}, and every metric either file uses is in a real node's /metrics, or in {@link #NEEDS_DATA}
 * with the reason it is not there on a fresh node.
 */
class MonitoringFilesTest {

    private static final Path ROOT = Path.of("..");
    private static final Path RULES = ROOT.resolve("deploy/prometheus/pulse-rules.yaml");
    private static final Path RULE_TESTS = ROOT.resolve("deploy/prometheus/pulse-rules.test.yaml");
    private static final Path DASHBOARD = ROOT.resolve("deploy/grafana/pulse.json");

    /**
     * Metrics the files use that a fresh test node does not expose, each with why (documented in
     * docs/deployment.md, "Dashboards and alerts").
     */
    static final Map<String, String> NEEDS_DATA =
            Map.of(
                    "up", "Prometheus's own series for each scrape target, not a node's",
                    "pulse_llm_tokens_total", "appears once an llm agent has used tokens");

    private static final Pattern METRIC =
            Pattern.compile(
                    "\\b(up|(?:pulse|jvm|hikaricp|process)_[a-z0-9_]+)\\b(?=\\s*[{\\[)=><!]|\\s*$|\\s)");

    @Test
    void theAlertingRulesPassTheirUnitTestsUnderPromtool() throws Exception {
        String promtool = promtoolOrSkip();
        String checked = run(promtool, "check", "rules", RULES.getFileName().toString());
        assertThat(checked).contains("SUCCESS");
        String tested = run(promtool, "test", "rules", RULE_TESTS.getFileName().toString());
        assertThat(tested).contains("SUCCESS");
    }

    @Test
    void everyAlertHasAUnitTestThatSeesItFire() throws IOException {
        JsonNode rules = new YAMLMapper().readTree(RULES.toFile());
        Set<String> alerts = new TreeSet<>();
        rules.path("groups")
                .forEach(g -> g.path("rules").forEach(r -> alerts.add(r.path("alert").asText())));
        JsonNode tests = new YAMLMapper().readTree(RULE_TESTS.toFile());
        Set<String> firing = new TreeSet<>();
        tests.path("tests")
                .forEach(
                        t ->
                                t.path("alert_rule_test")
                                        .forEach(
                                                a -> {
                                                    if (!a.path("exp_alerts").isEmpty()) {
                                                        firing.add(a.path("alertname").asText());
                                                    }
                                                }));
        assertThat(alerts).hasSizeGreaterThanOrEqualTo(7);
        assertThat(firing).isEqualTo(alerts);
    }

    @Test
    void everyMetricTheDashboardAndTheRulesUseIsOneANodeExposes() throws Exception {
        Set<String> used = new TreeSet<>();
        for (String expr : ruleExpressions()) {
            used.addAll(metrics(expr));
        }
        for (String expr : dashboardExpressions()) {
            used.addAll(metrics(expr));
        }
        assertThat(used)
                .as("the files use Pulse's own metrics")
                .contains(
                        "pulse_tasks_ready",
                        "pulse_queue_lag_seconds",
                        "pulse_attempts_finished_total",
                        "pulse_callback_attempts_total",
                        "pulse_duty_passes_total",
                        "pulse_tasks_waiting");

        String scrape = scrapeAfterWork();
        List<String> missing = new ArrayList<>();
        for (String name : used) {
            boolean exposed =
                    Pattern.compile("(?m)^" + Pattern.quote(name) + "[{ ]").matcher(scrape).find();
            if (!exposed && !NEEDS_DATA.containsKey(name)) {
                missing.add(name);
            }
            if (exposed) {
                assertThat(NEEDS_DATA)
                        .as("%s is exposed: take it off NEEDS_DATA", name)
                        .doesNotContainKey(name);
            }
        }
        assertThat(missing)
                .as("metrics the dashboard or the rules use that no node exposes")
                .isEmpty();
    }

    /**
     * The /metrics of a node with every role after tasks ran and a callback was attempted, plus an
     * API-only node's, where queued tasks stay ready (on the other, workers claim them at once).
     */
    private static String scrapeAfterWork() throws Exception {
        StringBuilder scrapes = new StringBuilder();
        DatabaseUrl database = TestDatabase.create();
        try (TestNode api = new TestNode(database, Map.of("PULSE_ROLES", "api"))) {
            api.post("/v1/tasks", "{\"agent\": \"echo\"}");
            scrapes.append(api.get("/metrics").body());
        }
        try (TestNode pulse = new TestNode(database, Map.of())) {
            pulse.post(
                    "/v1/tasks",
                    "{\"agent\": \"echo\", \"callback_url\": \"http://127.0.0.1:9/nowhere\"}");
            pulse.post(
                    "/v1/tasks",
                    "{\"agent\": \"sleep\", \"input\": {\"ms\": \"x\"}, \"max_attempts\": 1}");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            String scrape = pulse.get("/metrics").body();
            while (!(scrape.contains("pulse_callback_attempts_total{")
                            && scrape.contains("pulse_attempts_finished_total{agent=\"sleep\""))
                    && System.nanoTime() < deadline) {
                Thread.sleep(100);
                scrape = pulse.get("/metrics").body();
            }
            scrapes.append(scrape);
        }
        return scrapes.toString();
    }

    private static List<String> ruleExpressions() throws IOException {
        List<String> exprs = new ArrayList<>();
        new YAMLMapper()
                .readTree(RULES.toFile())
                .path("groups")
                .forEach(g -> g.path("rules").forEach(r -> exprs.add(r.path("expr").asText())));
        assertThat(exprs).isNotEmpty();
        return exprs;
    }

    private static List<String> dashboardExpressions() throws IOException {
        List<String> exprs = new ArrayList<>();
        JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
        assertThat(dashboard.path("title").asText()).isEqualTo("Pulse");
        dashboard
                .path("panels")
                .forEach(p -> p.path("targets").forEach(t -> exprs.add(t.path("expr").asText())));
        assertThat(exprs).hasSizeGreaterThan(10);
        return exprs;
    }

    static Set<String> metrics(String expr) {
        Set<String> names = new TreeSet<>();
        // label values and names in braces are not metrics
        Matcher m = METRIC.matcher(expr.replaceAll("\\{[^}]*}", "{}"));
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    private static String run(String promtool, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(promtool));
        command.addAll(List.of(args));
        Process process =
                new ProcessBuilder(command)
                        .directory(RULES.getParent().toFile())
                        .redirectErrorStream(true)
                        .start();
        String said = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
        System.err.println("promtool " + String.join(" ", args) + ":\n" + said);
        assertThat(process.exitValue())
                .as("promtool %s said:%n%s", args[0] + " " + args[1], said)
                .isZero();
        return said;
    }

    private static String promtoolOrSkip() {
        String configured = System.getenv("PULSE_PROMTOOL");
        for (String candidate :
                new String[] {configured, "/usr/bin/promtool", "/usr/local/bin/promtool"}) {
            if (candidate != null && Files.isExecutable(Path.of(candidate))) {
                return candidate;
            }
        }
        String reason =
                "!!! promtool is not available: THE UNIT TESTS OF THE ALERTING RULES ARE SKIPPED. "
                        + "Install it with scripts/promtool.sh (as .ci/run does; it runs apt-get install prometheus).";
        System.err.println(reason);
        Assumptions.assumeTrue(false, reason);
        return null;
    }
}
