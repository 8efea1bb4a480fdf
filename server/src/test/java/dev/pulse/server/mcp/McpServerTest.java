package dev.pulse.server.mcp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.workers.keys.ApiKeyStore;
import dev.pulse.workers.keys.Scope;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.spec.McpSchema;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code /mcp} driven by the MCP Java SDK's own client ({@link McpSyncClient} over its Streamable
 * HTTP transport), connected to a real node with an API key in the {@code Authorization} header.
 */
class McpServerTest {

    private static final Duration PATIENCE = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();

    private static TestNode pulse;
    private static ApiKeyStore keys;
    private final List<McpSyncClient> clients = new ArrayList<>();

    @BeforeAll
    static void start() {
        pulse = new TestNode();
        keys = new ApiKeyStore(pulse.jdbi, new SecureRandom());
    }

    @AfterAll
    static void stop() {
        pulse.close();
    }

    @AfterEach
    void disconnect() {
        clients.forEach(McpSyncClient::closeGracefully);
    }

    @Test
    void aClientConnectsWithAKeyAndListsExactlyTheToolsEachWithAnInputSchema() {
        McpSyncClient client = connect(TestNode.ADMIN_KEY);

        List<McpSchema.Tool> tools = client.listTools().tools();

        assertThat(tools)
                .extracting(McpSchema.Tool::name)
                .containsExactlyInAnyOrder(
                        "queue_task",
                        "get_task",
                        "list_tasks",
                        "cancel_task",
                        "wait_for_task",
                        "list_agents",
                        "create_schedule",
                        "list_schedules");
        assertThat(tools)
                .allSatisfy(
                        tool -> {
                            assertThat(tool.inputSchema()).containsEntry("type", "object");
                            assertThat(tool.inputSchema()).containsKey("properties");
                            assertThat(tool.description()).contains("Needs scope ");
                        });
        assertThat(schemaOf(tools, "queue_task"))
                .containsKeys(
                        "agent",
                        "input",
                        "delay",
                        "run_at",
                        "timezone",
                        "callback_url",
                        "metadata",
                        "priority",
                        "idempotency_key",
                        "concurrency_key",
                        "budget");
        assertThat(schemaOf(tools, "list_tasks"))
                .containsOnlyKeys(
                        "state", "agent", "schedule", "concurrency_key", "limit", "cursor");
        assertThat(schemaOf(tools, "wait_for_task")).containsOnlyKeys("id", "timeout_seconds");
        assertThat(schemaOf(tools, "create_schedule"))
                .containsKeys("name", "cron", "every", "timezone", "agent", "input", "times");
    }

    @Test
    void aQueuedTaskIsWaitedForUntilItEndsThenReadAndListed() throws Exception {
        McpSyncClient client = connect(TestNode.ADMIN_KEY);

        JsonNode queued =
                ok(
                        client,
                        "queue_task",
                        Map.of("agent", "echo", "input", Map.of("hello", "mcp"), "priority", 5));
        String id = queued.path("id").asText();
        assertThat(queued.path("agent").asText()).isEqualTo("echo");
        assertThat(queued.path("priority").asInt()).isEqualTo(5);

        JsonNode ended = waitUntilEnded(client, id);
        assertThat(ended.path("state").asText()).isEqualTo("succeeded");
        assertThat(ended.path("result").path("hello").asText()).isEqualTo("mcp");

        JsonNode read = ok(client, "get_task", Map.of("id", id));
        assertThat(read.path("state").asText()).isEqualTo("succeeded");
        assertThat(read.path("links").path("self").asText()).isEqualTo("/v1/tasks/" + id);

        JsonNode page =
                ok(
                        client,
                        "list_tasks",
                        Map.of("agent", "echo", "state", "succeeded", "limit", 100));
        assertThat(page.path("items").findValuesAsText("id")).contains(id);
        assertThat(page.has("next_cursor")).isTrue();
    }

    @Test
    void waitForTaskReturnsTheTaskAsItIsWhenTheTimeIsUp() throws Exception {
        McpSyncClient client = connect(TestNode.ADMIN_KEY);
        String id = ok(client, "queue_task", inAnHour()).path("id").asText();

        JsonNode waited = ok(client, "wait_for_task", Map.of("id", id, "timeout_seconds", 1));

        assertThat(waited.path("id").asText()).isEqualTo(id);
        assertThat(waited.path("state").asText()).isEqualTo("scheduled");
        ok(client, "cancel_task", Map.of("id", id));
    }

    /**
     * A wait holds its request without a byte on the connection for longer than Jetty's idle
     * timeout (30 s): it must still be answered, and not before its time is up.
     */
    @Test
    void aWaitLongerThanTheIdleTimeoutOfConnectionsIsAnsweredWhenItsTimeIsUp() throws Exception {
        McpSyncClient client = connect(TestNode.ADMIN_KEY);
        String id = ok(client, "queue_task", inAnHour()).path("id").asText();
        long started = System.nanoTime();

        JsonNode waited = ok(client, "wait_for_task", Map.of("id", id, "timeout_seconds", 35));

        assertThat(Duration.ofNanos(System.nanoTime() - started))
                .isGreaterThanOrEqualTo(Duration.ofSeconds(35));
        assertThat(waited.path("state").asText()).isEqualTo("scheduled");
        ok(client, "cancel_task", Map.of("id", id));
    }

    @Test
    void aDelayedTaskIsCancelledOnceAndASecondCancelIsAToolError() throws Exception {
        McpSyncClient client = connect(TestNode.ADMIN_KEY);
        JsonNode queued = ok(client, "queue_task", inAnHour());
        assertThat(queued.path("state").asText()).isEqualTo("scheduled");
        String id = queued.path("id").asText();

        JsonNode cancelled = ok(client, "cancel_task", Map.of("id", id));
        assertThat(cancelled.path("state").asText()).isEqualTo("cancelled");
        assertThat(ok(client, "wait_for_task", Map.of("id", id)).path("state").asText())
                .isEqualTo("cancelled");

        JsonNode again = error(client, "cancel_task", Map.of("id", id));
        assertThat(again.path("status").asInt()).isEqualTo(409);
        assertThat(again.path("detail").asText()).contains("already cancelled");
    }

    @Test
    void agentsAreListedAndAScheduleIsCreatedAndListedOnce() throws Exception {
        McpSyncClient client = connect(TestNode.ADMIN_KEY);

        assertThat(ok(client, "list_agents", Map.of()).path("items").findValuesAsText("name"))
                .contains("echo", "sleep", "word-count");

        Map<String, Object> schedule =
                Map.of(
                        "name",
                        "mcp-nightly",
                        "cron",
                        "0 2 * * *",
                        "timezone",
                        "Europe/Paris",
                        "agent",
                        "echo",
                        "input",
                        Map.of("from", "mcp"));
        JsonNode created = ok(client, "create_schedule", schedule);
        assertThat(created.path("name").asText()).isEqualTo("mcp-nightly");
        assertThat(created.path("timezone").asText()).isEqualTo("Europe/Paris");
        assertThat(created.path("next_fire_times").size()).isPositive();

        JsonNode listed = ok(client, "list_schedules", Map.of());
        assertThat(listed.path("items").findValuesAsText("name")).contains("mcp-nightly");
        assertThat(pulse.get("/v1/schedules/mcp-nightly").statusCode()).isEqualTo(200);

        JsonNode again = error(client, "create_schedule", schedule);
        assertThat(again.path("status").asInt()).isEqualTo(409);
        assertThat(again.path("detail").asText()).contains("'mcp-nightly' exists");
    }

    @Test
    void aTaskIsQueuedWithADelayAndAnEveryTimesScheduleIsCreated() throws Exception {
        McpSyncClient client = connect(TestNode.ADMIN_KEY);

        JsonNode delayed = ok(client, "queue_task", Map.of("agent", "echo", "delay", "5m"));
        assertThat(delayed.path("state").asText()).isEqualTo("scheduled");
        assertThat(
                        Duration.between(
                                Instant.parse(delayed.path("created_at").asText()),
                                Instant.parse(delayed.path("run_at").asText())))
                .isEqualTo(Duration.ofMinutes(5));
        ok(client, "cancel_task", Map.of("id", delayed.path("id").asText()));

        JsonNode phrase =
                ok(
                        client,
                        "queue_task",
                        Map.of(
                                "agent",
                                "echo",
                                "run_at",
                                "tomorrow 9am",
                                "timezone",
                                "Europe/Paris"));
        assertThat(phrase.path("state").asText()).isEqualTo("scheduled");
        ok(client, "cancel_task", Map.of("id", phrase.path("id").asText()));

        JsonNode schedule =
                ok(
                        client,
                        "create_schedule",
                        Map.of(
                                "name",
                                "mcp-every",
                                "every",
                                "10m",
                                "times",
                                6,
                                "agent",
                                "echo",
                                "input",
                                Map.of("from", "mcp")));
        assertThat(schedule.path("every").asText()).isEqualTo("10m");
        assertThat(schedule.path("times").asInt()).isEqualTo(6);
        assertThat(schedule.path("state").asText()).isEqualTo("active");
        assertThat(schedule.path("cron").isNull()).isTrue();
        List<Instant> next = new ArrayList<>();
        schedule.path("next_fire_times").forEach(t -> next.add(Instant.parse(t.asText())));
        assertThat(next).hasSize(5);
        for (int i = 1; i < next.size(); i++) {
            assertThat(Duration.between(next.get(i - 1), next.get(i)))
                    .isEqualTo(Duration.ofMinutes(10));
        }
        JsonNode listed = ok(client, "list_schedules", Map.of());
        assertThat(listed.path("items").findValuesAsText("every")).contains("10m");

        JsonNode bad =
                error(
                        client,
                        "queue_task",
                        Map.of("agent", "echo", "delay", "5 minutes", "timezone", "Nowhere/Else"));
        assertThat(bad.path("errors").findValuesAsText("field"))
                .containsExactlyInAnyOrder("delay", "timezone");
    }

    /**
     * The tools hand their arguments to the REST routes' parsers: the same fields, the same words.
     */
    @Test
    void badArgumentsAreToolErrorsWithTheMessagesOfTheRestRoutes() throws Exception {
        McpSyncClient client = connect(TestNode.ADMIN_KEY);
        String body = "{\"agent\": \"no-such-agent\", \"priority\": 5000, \"colour\": \"red\"}";

        JsonNode viaMcp = error(client, "queue_task", JSON.readValue(body, Map.class));
        JsonNode viaRest = JSON.readTree(pulse.post("/v1/tasks", body).body());

        assertThat(viaMcp.path("status").asInt()).isEqualTo(422);
        assertThat(viaMcp.path("errors")).isEqualTo(viaRest.path("errors"));
        assertThat(viaMcp.path("errors").findValuesAsText("field"))
                .containsExactlyInAnyOrder("agent", "priority", "colour");
        assertThat(viaMcp.path("detail")).isEqualTo(viaRest.path("detail"));

        String scheduleBody = "{\"name\": \"bad\", \"cron\": \"not a cron\", \"agent\": \"echo\"}";
        JsonNode scheduleViaMcp =
                error(client, "create_schedule", JSON.readValue(scheduleBody, Map.class));
        JsonNode scheduleViaRest = JSON.readTree(pulse.post("/v1/schedules", scheduleBody).body());
        assertThat(scheduleViaMcp.path("errors")).isEqualTo(scheduleViaRest.path("errors"));
        assertThat(scheduleViaMcp.path("errors").findValuesAsText("field")).contains("cron");

        assertThat(error(client, "get_task", Map.of("id", "not-a-uuid")).path("status").asInt())
                .isEqualTo(404);
        assertThat(
                        error(client, "list_tasks", Map.of("state", "sleeping"))
                                .path("errors")
                                .findValuesAsText("field"))
                .containsExactly("state");
        assertThat(
                        error(client, "wait_for_task", Map.of("id", "x", "timeout_seconds", 61))
                                .path("errors")
                                .findValuesAsText("message"))
                .containsExactly("must be an integer from 1 to 60, got 61");
    }

    /** {@code budget} means what it means at POST /v1/tasks: kept, enforced, validated alike. */
    @Test
    void aTaskQueuedWithABudgetIsHeldToItAndABadBudgetIsTheRestRoutesError() throws Exception {
        McpSyncClient client = connect(TestNode.ADMIN_KEY);
        // echo reports the usage it is given: 120 tokens, over a budget of 100.
        Map<String, Object> usage =
                Map.of("usage", Map.of("input_tokens", 60, "output_tokens", 60));

        JsonNode over =
                ok(
                        client,
                        "queue_task",
                        Map.of(
                                "agent",
                                "echo",
                                "input",
                                usage,
                                "budget",
                                Map.of("max_tokens", 100, "max_duration", "30s")));
        assertThat(over.path("budget").path("max_tokens").asInt()).isEqualTo(100);
        assertThat(over.path("budget").path("max_duration").asText()).isEqualTo("30s");
        JsonNode failed = waitUntilEnded(client, over.path("id").asText());
        assertThat(failed.path("state").asText()).isEqualTo("failed");
        assertThat(failed.path("error").path("code").asText()).isEqualTo("budget_exceeded");
        assertThat(failed.path("error").path("usage").path("input_tokens").asInt()).isEqualTo(60);
        assertThat(failed.path("error").path("message").asText()).contains("120 tokens");

        JsonNode within =
                ok(
                        client,
                        "queue_task",
                        Map.of(
                                "agent",
                                "echo",
                                "input",
                                usage,
                                "budget",
                                Map.of("max_tokens", 500)));
        assertThat(waitUntilEnded(client, within.path("id").asText()).path("state").asText())
                .isEqualTo("succeeded");

        String body = "{\"agent\": \"echo\", \"budget\": {\"max_tokens\": -1, \"max_pennies\": 1}}";
        JsonNode viaMcp = error(client, "queue_task", JSON.readValue(body, Map.class));
        JsonNode viaRest = JSON.readTree(pulse.post("/v1/tasks", body).body());
        assertThat(viaMcp.path("status").asInt()).isEqualTo(422);
        assertThat(viaMcp.path("errors")).isEqualTo(viaRest.path("errors"));
        assertThat(viaMcp.path("errors").findValuesAsText("field"))
                .containsExactlyInAnyOrder("budget.max_tokens", "budget.max_pennies");
    }

    @Test
    void aReadOnlyKeyReadsButCannotQueueAndTheErrorNamesTheScope() throws Exception {
        String reader = keys.create("mcp-reader", EnumSet.of(Scope.TASKS_READ));
        McpSyncClient client = connect(reader);

        assertThat(client.listTools().tools()).hasSize(8);
        ok(client, "list_tasks", Map.of("limit", 1));

        JsonNode refused =
                error(
                        client,
                        "queue_task",
                        Map.of("agent", "echo", "input", Map.of("queued_by", "mcp-reader")));
        assertThat(refused.path("status").asInt()).isEqualTo(403);
        assertThat(refused.path("detail").asText())
                .isEqualTo("key 'mcp-reader' lacks the scope tasks:write this tool needs");
        assertThat(error(client, "list_agents", Map.of()).path("detail").asText())
                .contains("agents:read");
        assertThat(error(client, "create_schedule", Map.of()).path("detail").asText())
                .contains("schedules:write");
        assertThat(
                        pulse.count(
                                "SELECT count(*) FROM tasks WHERE input ->> 'queued_by' IS NOT NULL"))
                .isZero();
    }

    @Test
    void withoutAValidKeyTheEndpointAnswers401AndTheClientCannotConnect() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        String initialize =
                """
                {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                  "protocolVersion": "2025-06-18", "capabilities": {},
                  "clientInfo": {"name": "curl", "version": "1"}}}
                """;
        HttpResponse<String> noKey =
                http.send(
                        HttpRequest.newBuilder(URI.create(pulse.url("/mcp")))
                                .header("Content-Type", "application/json")
                                .header("Accept", "application/json, text/event-stream")
                                .POST(HttpRequest.BodyPublishers.ofString(initialize))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(noKey.statusCode()).isEqualTo(401);
        assertThat(noKey.headers().firstValue("Content-Type")).hasValue("application/problem+json");
        assertThat(noKey.headers().firstValue("WWW-Authenticate")).hasValue("Bearer");

        McpSyncClient unknownKey = client("pulse_not_a_key");
        assertThatThrownBy(unknownKey::initialize).isNotNull();

        HttpResponse<String> withKey =
                pulse.send(
                        pulse.request("/mcp")
                                .header("Accept", "application/json, text/event-stream")
                                .POST(HttpRequest.BodyPublishers.ofString(initialize))
                                .build());
        assertThat(withKey.statusCode()).isEqualTo(200);
        JsonNode result = JSON.readTree(withKey.body()).path("result");
        assertThat(result.path("protocolVersion").asText()).isEqualTo("2025-06-18");
        assertThat(result.path("serverInfo").path("name").asText()).isEqualTo("pulse");

        HttpResponse<String> unknownRevision =
                pulse.send(
                        pulse.request("/mcp")
                                .header("MCP-Protocol-Version", "2024-01-01")
                                .POST(HttpRequest.BodyPublishers.ofString(initialize))
                                .build());
        assertThat(unknownRevision.statusCode()).isEqualTo(400);
        assertThat(unknownRevision.body()).contains("2025-06-18");

        HttpResponse<String> foreignPage =
                pulse.send(
                        pulse.request("/mcp")
                                .header("Origin", "http://attacker.example")
                                .POST(HttpRequest.BodyPublishers.ofString(initialize))
                                .build());
        assertThat(foreignPage.statusCode()).isEqualTo(403);
        assertThat(foreignPage.body()).contains("attacker.example");
        String ownOrigin = "http://" + URI.create(pulse.url("/mcp")).getRawAuthority();
        HttpResponse<String> ownPage =
                pulse.send(
                        pulse.request("/mcp")
                                .header("Origin", ownOrigin)
                                .POST(HttpRequest.BodyPublishers.ofString(initialize))
                                .build());
        assertThat(ownPage.statusCode()).isEqualTo(200);

        // Stateless: no session to stream on or to end.
        assertThat(pulse.send(pulse.request("/mcp").GET().build()).statusCode()).isEqualTo(405);
        assertThat(pulse.send(pulse.request("/mcp").DELETE().build()).statusCode()).isEqualTo(405);
    }

    /** The properties of a tool's input schema. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> schemaOf(List<McpSchema.Tool> tools, String name) {
        return (Map<String, Object>)
                tools.stream()
                        .filter(t -> t.name().equals(name))
                        .findFirst()
                        .orElseThrow()
                        .inputSchema()
                        .get("properties");
    }

    private McpSyncClient connect(String key) {
        McpSyncClient client = client(key);
        McpSchema.InitializeResult result = client.initialize();
        assertThat(result.protocolVersion()).isIn("2025-06-18", "2025-11-25");
        assertThat(result.serverInfo().name()).isEqualTo("pulse");
        return client;
    }

    private McpSyncClient client(String key) {
        HttpClientStreamableHttpTransport transport =
                HttpClientStreamableHttpTransport.builder(pulse.url(""))
                        .endpoint("/mcp")
                        .requestBuilder(
                                HttpRequest.newBuilder().header("Authorization", "Bearer " + key))
                        .build();
        McpSyncClient client =
                McpClient.sync(transport)
                        .clientInfo(new McpSchema.Implementation("pulse-test", "1"))
                        .requestTimeout(Duration.ofSeconds(90))
                        .build();
        clients.add(client);
        return client;
    }

    /** Calls a tool that must succeed; its structured content, checked equal to its text. */
    private static JsonNode ok(McpSyncClient client, String tool, Map<String, ?> arguments)
            throws Exception {
        McpSchema.CallToolResult result = call(client, tool, arguments);
        assertThat(result.isError()).as(tool + " " + text(result)).isNotEqualTo(Boolean.TRUE);
        return structured(result);
    }

    /** Calls a tool that must fail; the problem document it returned. */
    private static JsonNode error(McpSyncClient client, String tool, Map<String, ?> arguments)
            throws Exception {
        McpSchema.CallToolResult result = call(client, tool, arguments);
        assertThat(result.isError()).as(tool + " " + text(result)).isTrue();
        return structured(result);
    }

    @SuppressWarnings("unchecked")
    private static McpSchema.CallToolResult call(
            McpSyncClient client, String tool, Map<String, ?> arguments) {
        return client.callTool(
                new McpSchema.CallToolRequest(tool, (Map<String, Object>) arguments));
    }

    private static JsonNode structured(McpSchema.CallToolResult result) throws Exception {
        JsonNode structured = JSON.valueToTree(result.structuredContent());
        assertThat(JSON.readTree(text(result))).isEqualTo(structured);
        return structured;
    }

    private static String text(McpSchema.CallToolResult result) {
        assertThat(result.content()).hasSize(1);
        return ((McpSchema.TextContent) result.content().get(0)).text();
    }

    private static JsonNode waitUntilEnded(McpSyncClient client, String id) throws Exception {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        JsonNode task = ok(client, "wait_for_task", Map.of("id", id, "timeout_seconds", 30));
        while (!Set.of("succeeded", "failed", "cancelled").contains(task.path("state").asText())) {
            assertThat(System.nanoTime())
                    .as("task still " + task + " after " + PATIENCE)
                    .isLessThan(deadline);
            task = ok(client, "wait_for_task", Map.of("id", id, "timeout_seconds", 30));
        }
        return task;
    }

    private static Map<String, Object> inAnHour() {
        return Map.of(
                "agent",
                "echo",
                "run_at",
                Instant.now().plus(1, ChronoUnit.HOURS).truncatedTo(ChronoUnit.SECONDS).toString());
    }
}
