package dev.pulse.server.api;

import static dev.pulse.server.api.BudgetTest.agentDocument;
import static dev.pulse.server.api.BudgetTest.awaitEnded;
import static dev.pulse.server.api.BudgetTest.awaitTrue;
import static dev.pulse.server.api.BudgetTest.create;
import static dev.pulse.server.api.BudgetTest.llmAgent;
import static dev.pulse.server.api.BudgetTest.put;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.executors.standins.OpenAiStandIn;
import dev.pulse.server.TestNode;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.testing.TestDatabase;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Per-key daily budgets and durable operator alerts on two real nodes (issue 21), against a
 * loopback stand-in for an OpenAI-compatible provider that reports 18 tokens a run.
 */
class KeyBudgetAndAlertTest {

    private static final ObjectMapper json = new ObjectMapper();

    @Test
    void aKeyWhoseDailyBudgetIsSpentWaitsWhileTheAgentsOtherKeysKeepRunning() throws Exception {
        DatabaseUrl database = TestDatabase.create();
        try (OpenAiStandIn provider = new OpenAiStandIn().reply("A summary.").usage(10, 8);
                AlertReceiverStandIn alerts = new AlertReceiverStandIn();
                TestNode a = new TestNode(database, Map.of("PULSE_ALERT_URL", alerts.url()));
                TestNode b = new TestNode(database, Map.of("PULSE_ALERT_URL", alerts.url()))) {
            ObjectNode spec = llmAgent(provider);
            spec.putObject("budget").putObject("per_key").put("tokens_per_day", 30);
            put(a, agentDocument("tenants", spec), 201);
            awaitTrue(
                    () -> b.get("/v1/agents/tenants").statusCode() == 200,
                    "node b never learned of the agent");

            // 18 of key acme's 30 used: its next run starts, and takes acme's day to 36.
            assertThat(state(awaitEnded(a, create(a, task("acme"))))).isEqualTo("succeeded");
            assertThat(state(awaitEnded(b, create(b, task("acme"))))).isEqualTo("succeeded");
            String held = create(a, task("acme"));
            JsonNode seen = awaitWaiting(b, held, "budget_exhausted");
            Instant midnight =
                    LocalDate.now(ZoneOffset.UTC)
                            .plusDays(1)
                            .atStartOfDay(ZoneOffset.UTC)
                            .toInstant();
            assertThat(Instant.parse(seen.path("waiting_until").asText())).isEqualTo(midnight);

            // Another key of the agent, and a task without a key, keep running on both nodes.
            for (TestNode node : new TestNode[] {a, b}) {
                assertThat(state(awaitEnded(node, create(node, task("globex")))))
                        .isEqualTo("succeeded");
            }
            assertThat(
                            state(
                                    awaitEnded(
                                            a,
                                            create(
                                                    a,
                                                    "{\"agent\": \"tenants\", \"input\": {\"text\": \"x\"}}"))))
                    .isEqualTo("succeeded");

            JsonNode still = json.readTree(a.get("/v1/tasks/" + held).body());
            assertThat(state(still)).isEqualTo("queued");
            assertThat(still.path("waiting_reason").asText()).isEqualTo("budget_exhausted");
            assertThat(provider.received()).as("calls to the provider").hasSize(5);
            assertThat(
                            a.count(
                                    "SELECT input_tokens + output_tokens FROM key_usage WHERE agent = 'tenants' AND concurrency_key = 'acme'"))
                    .isEqualTo(36);
            assertThat(
                            a.count(
                                    "SELECT input_tokens + output_tokens FROM agent_usage WHERE agent = 'tenants'"))
                    .as("the agent's day counts every key and the unkeyed run")
                    .isEqualTo(5 * 18);

            JsonNode agent = json.readTree(a.get("/v1/agents/tenants").body());
            assertThat(agent.path("budget").path("per_key").path("tokens_per_day").asLong())
                    .isEqualTo(30);
            JsonNode hold = agent.path("holds").get(0);
            assertThat(hold.path("concurrency_key").asText()).isEqualTo("acme");
            assertThat(hold.path("reason").asText()).isEqualTo("budget_exhausted");

            // globex spent its 30 too with its second run: one alert per key, once each.
            awaitTrue(() -> alerts.verified().size() >= 2, "the operator was never alerted");
            assertThat(alerts.verified())
                    .extracting(body -> json.readTree(body).path("data").path("concurrency_key"))
                    .extracting(JsonNode::asText)
                    .containsExactlyInAnyOrder("acme", "globex");
            assertThat(alerts.unsigned()).isEmpty();
        }
    }

    @Test
    void aBadPerKeyBudgetIsA422NamingThePath() throws Exception {
        try (OpenAiStandIn provider = new OpenAiStandIn();
                TestNode node = new TestNode(TestDatabase.create(), Map.of())) {
            for (String[] bad :
                    new String[][] {
                        {
                            "{\"per_key\": {\"tokens_per_day\": -5}}",
                            "spec.budget.per_key.tokens_per_day"
                        },
                        {
                            "{\"per_key\": {\"cost_usd_per_day\": \"much\"}}",
                            "spec.budget.per_key.cost_usd_per_day"
                        },
                        {
                            "{\"per_key\": {\"tokens_per_hour\": 5}}",
                            "spec.budget.per_key.tokens_per_hour"
                        },
                        {"{\"per_key\": 7}", "spec.budget.per_key"},
                        {"{\"per_key\": {}}", "spec.budget.per_key"}
                    }) {
                ObjectNode spec = llmAgent(provider);
                spec.set("budget", json.readTree(bad[0]));
                HttpResponse<String> answer = put(node, agentDocument("bad-budget", spec), 422);
                assertThat(answer.body()).as(bad[0]).contains(bad[1]);
            }
            assertThat(node.get("/v1/agents/bad-budget").statusCode()).isEqualTo(404);
        }
    }

    @Test
    void anAlertWhoseEndpointIsDownAtFirstArrivesOnceSignedWhenItIsUp() throws Exception {
        DatabaseUrl database = TestDatabase.create();
        try (OpenAiStandIn provider = new OpenAiStandIn().reply("A summary.").usage(10, 8);
                AlertReceiverStandIn alerts = new AlertReceiverStandIn().refuseFirst(2);
                TestNode a = new TestNode(database, Map.of("PULSE_ALERT_URL", alerts.url()));
                TestNode b = new TestNode(database, Map.of("PULSE_ALERT_URL", alerts.url()))) {
            ObjectNode spec = llmAgent(provider);
            spec.putObject("budget").put("tokens_per_day", 30);
            put(a, agentDocument("daily", spec), 201);
            awaitTrue(
                    () -> b.get("/v1/agents/daily").statusCode() == 200,
                    "node b never learned of the agent");
            String task = "{\"agent\": \"daily\", \"input\": {\"text\": \"x\"}}";
            awaitEnded(a, create(a, task));
            awaitEnded(b, create(b, task));
            awaitWaiting(a, create(a, task), "budget_exhausted");

            awaitTrue(
                    () ->
                            a.count(
                                            "SELECT count(*) FROM callback_deliveries WHERE event_type = 'agent.held' AND state = 'delivered'")
                                    == 1,
                    "the alert was never delivered");
            assertThat(alerts.refusedIds()).as("tries while the endpoint was down").hasSize(2);
            assertThat(alerts.acceptedIds()).as("delivered once").hasSize(1);
            assertThat(alerts.refusedIds())
                    .as("every try under one webhook-id")
                    .containsOnly(alerts.acceptedIds().get(0));
            assertThat(alerts.verified()).as("signed").hasSize(1);
            JsonNode alert = json.readTree(alerts.verified().get(0)).path("data");
            assertThat(alert.path("agent").asText()).isEqualTo("daily");
            assertThat(alert.path("reason").asText()).isEqualTo("budget_exhausted");
            assertThat(alert.path("concurrency_key").isNull()).isTrue();
            assertThat(a.count("SELECT count(*) FROM callback_deliveries WHERE task_id IS NULL"))
                    .as("one alert written, by one of the two nodes")
                    .isEqualTo(1);
        }
    }

    private static String task(String key) {
        return "{\"agent\": \"tenants\", \"input\": {\"text\": \"x\"}, \"concurrency_key\": \""
                + key
                + "\"}";
    }

    private static String state(JsonNode task) {
        return task.path("state").asText();
    }

    private static JsonNode awaitWaiting(TestNode node, String id, String reason) throws Exception {
        JsonNode[] seen = {null};
        awaitTrue(
                () -> {
                    try {
                        seen[0] = json.readTree(node.get("/v1/tasks/" + id).body());
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                    return reason.equals(seen[0].path("waiting_reason").asText());
                },
                "task " + id + " never said " + reason);
        assertThat(state(seen[0])).isEqualTo("queued");
        return seen[0];
    }
}
