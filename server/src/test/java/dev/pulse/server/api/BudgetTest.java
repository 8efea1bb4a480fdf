package dev.pulse.server.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.executors.standins.OpenAiStandIn;
import dev.pulse.server.TestNode;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.testing.TestDatabase;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * Budgets on a real node (issue 21), against a loopback stand-in for an OpenAI-compatible provider
 * that reports 10 input and 8 output tokens per call.
 */
class BudgetTest {

    private static final ObjectMapper json = new ObjectMapper();
    private static final Duration DEADLINE = Duration.ofMinutes(3);

    @Test
    void aRunOverItsTaskTokenBudgetFailsWithBudgetExceededKeepingUsageAndResult() throws Exception {
        try (OpenAiStandIn provider = new OpenAiStandIn().reply("A summary.").usage(10, 8);
                TestNode node =
                        new TestNode(
                                TestDatabase.create(),
                                Map.of("PULSE_LLM_PRICES", "stand-in-model=1000/2000"))) {
            put(node, agentDocument("summarise", llmAgent(provider)), 201);

            String over =
                    create(
                            node,
                            "{\"agent\": \"summarise\", \"input\": {\"text\": \"x\"}, \"max_attempts\": 3,"
                                    + " \"budget\": {\"max_tokens\": 10}}");
            String within =
                    create(
                            node,
                            "{\"agent\": \"summarise\", \"input\": {\"text\": \"x\"},"
                                    + " \"budget\": {\"max_tokens\": 100, \"max_cost_usd\": 1.5, \"max_duration\": \"30s\"}}");
            JsonNode failed = awaitEnded(node, over);
            assertThat(failed.path("state").asText()).isEqualTo("failed");
            assertThat(failed.path("error").path("code").asText()).isEqualTo("budget_exceeded");
            assertThat(failed.path("error").path("message").asText()).contains("18 tokens");
            assertThat(failed.path("error").path("usage").path("total_tokens").asInt())
                    .isEqualTo(18);
            assertThat(failed.path("result").path("text").asText())
                    .as("the partial result is kept")
                    .isEqualTo("A summary.");
            assertThat(failed.path("attempts").asInt()).as("not retried").isEqualTo(1);
            assertThat(failed.path("budget").path("max_tokens").asInt()).isEqualTo(10);

            // 0.026 USD a run at PULSE_LLM_PRICES
            String tooDear =
                    create(
                            node,
                            "{\"agent\": \"summarise\", \"input\": {\"text\": \"x\"},"
                                    + " \"budget\": {\"max_cost_usd\": 0.02}}");
            JsonNode dear = awaitEnded(node, tooDear);
            assertThat(dear.path("error").path("code").asText()).isEqualTo("budget_exceeded");
            assertThat(dear.path("error").path("message").asText()).contains("0.026");

            JsonNode succeeded = awaitEnded(node, within);
            assertThat(succeeded.path("state").asText()).isEqualTo("succeeded");
            assertThat(succeeded.path("budget").path("max_duration").asText()).isEqualTo("30s");
        }
    }

    @Test
    void aBadTaskBudgetIsA422NamingThePath() throws Exception {
        try (TestNode node = new TestNode(TestDatabase.create(), Map.of())) {
            for (String[] bad :
                    new String[][] {
                        {"{\"max_tokens\": -1}", "budget.max_tokens"},
                        {"{\"max_cost_usd\": \"a lot\"}", "budget.max_cost_usd"},
                        {"{\"max_duration\": \"5 fortnights\"}", "budget.max_duration"},
                        {"{\"max_pennies\": 1}", "budget.max_pennies"},
                        {"7", "budget"}
                    }) {
                HttpResponse<String> answer =
                        node.post(
                                "/v1/tasks",
                                "{\"agent\": \"echo\", \"input\": {}, \"budget\": " + bad[0] + "}");
                assertThat(answer.statusCode()).as(answer.body()).isEqualTo(422);
                assertThat(answer.body()).contains("\"" + bad[1] + "\"");
            }
            assertThat(node.count("SELECT count(*) FROM tasks")).isZero();
        }
    }

    @Test
    void anAgentsDailyTokenBudgetHoldsFurtherRunsInQueuedUntilMidnight() throws Exception {
        try (OpenAiStandIn provider = new OpenAiStandIn().reply("A summary.").usage(10, 8);
                AlertReceiverStandIn alerts = new AlertReceiverStandIn();
                TestNode node =
                        new TestNode(
                                TestDatabase.create(),
                                Map.of(
                                        "PULSE_ALERT_URL",
                                        alerts.url(),
                                        // 10 input and 8 output tokens a run: 0.026 USD
                                        "PULSE_LLM_PRICES",
                                        "other-model=1/1,stand-in-model=1000/2000"))) {
            ObjectNode spec = llmAgent(provider);
            spec.putObject("budget").put("tokens_per_day", 30);
            put(node, agentDocument("daily", spec), 201);

            String task = "{\"agent\": \"daily\", \"input\": {\"text\": \"x\"}}";
            assertThat(awaitEnded(node, create(node, task)).path("state").asText())
                    .isEqualTo("succeeded");
            // 18 of 30 used: the next run starts, and takes the day to 36.
            assertThat(awaitEnded(node, create(node, task)).path("state").asText())
                    .isEqualTo("succeeded");
            String held = create(node, task);
            JsonNode[] seen = {null};
            awaitTrue(
                    () -> {
                        try {
                            seen[0] = json.readTree(node.get("/v1/tasks/" + held).body());
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                        return "budget_exhausted".equals(seen[0].path("waiting_reason").asText());
                    },
                    "the run past the budget never said budget_exhausted");
            assertThat(seen[0].path("state").asText()).isEqualTo("queued");
            Instant midnight =
                    LocalDate.now(ZoneOffset.UTC)
                            .plusDays(1)
                            .atStartOfDay(ZoneOffset.UTC)
                            .toInstant();
            assertThat(Instant.parse(seen[0].path("waiting_until").asText())).isEqualTo(midnight);
            assertThat(provider.received()).as("calls to the provider").hasSize(2);
            assertThat(
                            node.count(
                                    "SELECT input_tokens + output_tokens FROM agent_usage WHERE agent = 'daily'"))
                    .isEqualTo(36);

            JsonNode agent = json.readTree(node.get("/v1/agents/daily").body());
            assertThat(agent.path("usage_today").path("total_tokens").asLong()).isEqualTo(36);
            assertThat(agent.path("usage_today").path("cost_usd").decimalValue())
                    .isEqualByComparingTo("0.052");
            assertThat(agent.path("budget").path("tokens_per_day").asLong()).isEqualTo(30);
            assertThat(node.get("/metrics").body())
                    .containsPattern(
                            "pulse_llm_cost_usd_total\\{[^}]*agent=\"daily\"[^}]*} 0\\.052");
            assertThat(agent.path("holds").get(0).path("reason").asText())
                    .isEqualTo("budget_exhausted");

            awaitTrue(() -> !alerts.verified().isEmpty(), "the operator was never alerted");
            JsonNode alert = json.readTree(alerts.verified().get(0)).path("data");
            assertThat(alert.path("agent").asText()).isEqualTo("daily");
            assertThat(alert.path("reason").asText()).isEqualTo("budget_exhausted");
            assertThat(Instant.parse(alert.path("until").asText())).isEqualTo(midnight);
            assertThat(alerts.unsigned()).isEmpty();
        }
    }

    @Test
    void tokensPerMinuteHoldsFurtherRunsOnceTheMinutesTokensAreUsed() throws Exception {
        try (OpenAiStandIn provider = new OpenAiStandIn().reply("A summary.").usage(10, 8);
                TestNode node = new TestNode(TestDatabase.create(), Map.of())) {
            ObjectNode spec = llmAgent(provider);
            spec.put("tokens_per_minute", 30);
            put(node, agentDocument("per-minute", spec), 201);
            String task = "{\"agent\": \"per-minute\", \"input\": {\"text\": \"x\"}}";
            Instant before = Instant.now();
            awaitEnded(node, create(node, task));
            awaitEnded(node, create(node, task));
            String held = create(node, task);
            JsonNode[] seen = {null};
            awaitTrue(
                    () -> {
                        try {
                            seen[0] = json.readTree(node.get("/v1/tasks/" + held).body());
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                        return "rate_limited".equals(seen[0].path("waiting_reason").asText());
                    },
                    "the run past tokens_per_minute never said rate_limited");
            Instant until = Instant.parse(seen[0].path("waiting_until").asText());
            assertThat(until)
                    .isAfter(before.plusSeconds(59))
                    .isBefore(Instant.now().plusSeconds(61));
            assertThat(provider.received()).hasSize(2);
        }
    }

    @Test
    void tokensPerMinuteAdmitsABurstOnlyAsFarAsTheEstimatesFitAcrossTwoNodesAndDropsNothing()
            throws Exception {
        DatabaseUrl database = TestDatabase.create();
        try (OpenAiStandIn provider = new OpenAiStandIn().reply("A summary.").usage(10, 8);
                TestNode a = new TestNode(database, Map.of("PULSE_WORKER_CONCURRENCY", "4"));
                TestNode b = new TestNode(database, Map.of("PULSE_WORKER_CONCURRENCY", "4"))) {
            ObjectNode spec = llmAgent(provider);
            // "Summarise: x" is 12 characters, 3 tokens, and the reply may take 20: 23 estimated
            // a run, so two fit in 50 and a third does not (the stand-in reports 18 a run).
            ((ObjectNode) spec.path("llm")).put("max_tokens", 20);
            spec.put("tokens_per_minute", 50);
            put(a, agentDocument("burst", spec), 201);
            awaitTrue(
                    () -> b.get("/v1/agents/burst").statusCode() == 200,
                    "node b never learned of the agent");

            java.util.List<String> ids = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) {
                ids.add(
                        create(
                                i % 2 == 0 ? a : b,
                                "{\"agent\": \"burst\", \"input\": {\"text\": \"x\"}}"));
            }
            boolean[] sawRateLimited = {false};
            awaitTrue(
                    () -> {
                        try {
                            for (JsonNode t :
                                    json.readTree(
                                                    b.get("/v1/tasks?state=queued&agent=burst")
                                                            .body())
                                            .path("items")) {
                                sawRateLimited[0] |=
                                        "rate_limited".equals(t.path("waiting_reason").asText());
                            }
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                        return a.count(
                                        "SELECT count(*) FROM tasks WHERE agent = 'burst' AND state = 'succeeded'")
                                == 4;
                    },
                    "the burst's tasks never all succeeded");

            java.util.List<Instant> calls =
                    provider.received().stream().map(OpenAiStandIn.Received::at).sorted().toList();
            assertThat(calls).as("one call per task").hasSize(4);
            for (Instant from : calls) {
                // A little under the minute: the window is kept by the database's clock, and the
                // calls are stamped by the stand-in a moment after each admission.
                assertThat(
                                calls.stream()
                                        .filter(t -> !t.isBefore(from))
                                        .filter(t -> t.isBefore(from.plusSeconds(55)))
                                        .count())
                        .as("calls within 55 s from %s: %s", from, calls)
                        .isLessThanOrEqualTo(2);
            }
            assertThat(sawRateLimited[0]).as("a queued task said rate_limited").isTrue();
            for (String id : ids) {
                assertThat(
                                a.count(
                                        "SELECT count(*) FROM ended_attempts WHERE outcome <> 'throttled' AND task_id = '"
                                                + id
                                                + "'"))
                        .as("counted attempts of %s", id)
                        .isEqualTo(1);
            }
            assertThat(a.count("SELECT COALESCE(sum(tokens), 0) FROM flow_tokens"))
                    .as("every estimate replaced by the 18 tokens reported")
                    .isEqualTo(18L * a.count("SELECT count(*) FROM flow_tokens"));
        }
    }

    @Test
    void aBudgetOnAnAgentWithoutUsageIsA422NamingThePath() throws Exception {
        try (TestNode node = new TestNode(TestDatabase.create(), Map.of())) {
            ObjectNode spec = json.createObjectNode().put("executor", "local");
            spec.putObject("local").put("java_agent", "echo");
            spec.putObject("budget").put("tokens_per_day", 1000);
            HttpResponse<String> answer = put(node, agentDocument("no-usage", spec), 422);
            assertThat(answer.body()).contains("spec.budget");
        }
    }

    static ObjectNode llmAgent(OpenAiStandIn provider) {
        ObjectNode spec =
                json.createObjectNode()
                        .put("executor", "llm")
                        .put("timeout", "60s")
                        .put("max_attempts", 1);
        spec.putObject("llm")
                .put("provider", "openai")
                .put("base_url", provider.baseUrl())
                .put("model", "stand-in-model")
                .put("prompt", "Summarise: {{input.text}}");
        return spec;
    }

    static JsonNode awaitEnded(TestNode node, String id) throws Exception {
        JsonNode[] task = {null};
        awaitTrue(
                () -> {
                    try {
                        task[0] = json.readTree(node.get("/v1/tasks/" + id).body());
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                    return task[0].path("finished_at").isTextual();
                },
                "task " + id + " never ended");
        return task[0];
    }

    static String create(TestNode node, String body) throws Exception {
        HttpResponse<String> created = node.post("/v1/tasks", body);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        return json.readTree(created.body()).path("id").asText();
    }

    static String agentDocument(String name, ObjectNode spec) throws Exception {
        ObjectNode document =
                json.createObjectNode().put("apiVersion", "pulse/v1").put("kind", "Agent");
        document.putObject("metadata").put("name", name);
        document.set("spec", spec);
        return json.writeValueAsString(document);
    }

    static HttpResponse<String> put(TestNode node, String document, int status) throws Exception {
        String name = json.readTree(document).path("metadata").path("name").asText();
        HttpResponse<String> answer =
                node.send(
                        node.request("/v1/agents/" + name)
                                .PUT(HttpRequest.BodyPublishers.ofString(document))
                                .build());
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(status);
        return answer;
    }

    static void awaitTrue(BooleanSupplier condition, String failure) throws Exception {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as(failure).isLessThan(deadline);
            Thread.sleep(50);
        }
    }
}
