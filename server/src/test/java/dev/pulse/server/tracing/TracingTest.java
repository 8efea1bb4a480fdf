package dev.pulse.server.tracing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.standins.OpenAiStandIn;
import dev.pulse.executors.standins.ServerlessEndpointStandIn;
import dev.pulse.server.TestNode;
import dev.pulse.server.tracing.OtlpReceiverStandIn.ReceivedSpan;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.testing.CallbackReceiver;
import dev.pulse.workers.testing.TestDatabase;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.McpSyncClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.spec.McpSchema;
import io.opentelemetry.proto.trace.v1.Span.SpanKind;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Traces of tasks, exported over OTLP to a loopback receiver standing in for a collector, which
 * decodes what it gets. Tasks are queued on an API node and run by a worker node of the same
 * database, so the trace context crosses nodes through the task's row.
 */
class TracingTest {

    private static final ObjectMapper json = new ObjectMapper();
    private static final SecureRandom random = new SecureRandom();
    private static final Duration PATIENCE = Duration.ofSeconds(60);

    private static OtlpReceiverStandIn collector;
    private static ServerlessEndpointStandIn endpoint;
    private static OpenAiStandIn model;
    private static CallbackReceiver receiver;
    private static TestNode api;
    private static TestNode worker;

    @BeforeAll
    static void start() throws Exception {
        collector = new OtlpReceiverStandIn();
        endpoint = new ServerlessEndpointStandIn();
        endpoint.answer(ServerlessEndpointStandIn.Answer.json(200, "{\"done\": true}"));
        model = new OpenAiStandIn().reply("A summary.").model("stand-in-model-2026").usage(21, 8);
        receiver = new CallbackReceiver();
        DatabaseUrl database = TestDatabase.create();
        api = new TestNode(database, exporting("api"));
        worker = new TestNode(database, exporting("worker"));
        agent(
                "traced-serverless",
                "{\"executor\": \"serverless\", \"timeout\": \"60s\", \"serverless\": {\"url\": \""
                        + endpoint.url("/run")
                        + "\"}}");
        agent(
                "traced-llm",
                "{\"executor\": \"llm\", \"timeout\": \"60s\", \"llm\": {\"provider\": \"openai\","
                        + " \"base_url\": \""
                        + model.baseUrl()
                        + "\", \"model\": \"stand-in-model\", \"api_key\": \"sk-stand-in\","
                        + " \"prompt\": \"Summarise: {{input.text}}\"}}");
        agent(
                "traced-local",
                "{\"executor\": \"local\", \"timeout\": \"60s\", \"local\": {\"command\": [\"sh\","
                        + " \"-c\", \"cat >/dev/null; printf '{\\\"traceparent\\\": \\\"%s\\\","
                        + " \\\"tracestate\\\": \\\"%s\\\"}' \\\"$TRACEPARENT\\\""
                        + " \\\"$TRACESTATE\\\"\"]}}");
    }

    private static Map<String, String> exporting(String role) {
        return Map.of(
                "PULSE_ROLES",
                role,
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                collector.endpoint(),
                "OTEL_SERVICE_NAME",
                "pulse-under-test",
                "OTEL_BSP_SCHEDULE_DELAY",
                "100");
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable part : new AutoCloseable[] {worker, api, receiver, model, endpoint}) {
            try {
                if (part != null) {
                    part.close();
                }
            } catch (Exception e) {
                // closing the rest matters more
            }
        }
        if (collector != null) {
            collector.close();
        }
    }

    @Test
    void aTaskQueuedInATraceHasItsEnqueueClaimExecutionAndCallbackSpansInThatTrace()
            throws Exception {
        String traceId = hex(16);
        String callerSpan = hex(8);
        String id =
                enqueue(
                        "traced-serverless",
                        "{}",
                        "00-" + traceId + "-" + callerSpan + "-01",
                        "vendor=opaque");
        CallbackReceiver.Received callback = receiver.next(PATIENCE);
        while (!callback.body().contains(id)) { // another test's task
            callback = receiver.next(PATIENCE);
        }

        ReceivedSpan enqueue = span(traceId, "pulse.task.enqueue", id);
        ReceivedSpan claim = span(traceId, "pulse.task.claim", id);
        ReceivedSpan execute = span(traceId, "pulse.task.execute", id);
        ReceivedSpan deliver = span(traceId, "pulse.callback.deliver", id);

        assertThat(enqueue.parentSpanId()).as("the caller's span").isEqualTo(callerSpan);
        assertThat(enqueue.kind()).isEqualTo(SpanKind.SPAN_KIND_PRODUCER);
        for (ReceivedSpan later : List.of(claim, execute, deliver)) {
            assertThat(later.parentSpanId()).as(later.name()).isEqualTo(enqueue.spanId());
        }
        assertThat(Set.of(enqueue.spanId(), claim.spanId(), execute.spanId(), deliver.spanId()))
                .hasSize(4);
        assertThat(enqueue.resource()).containsEntry("service.name", "pulse-under-test");
        // queued on one node, claimed and run on the other: the context crossed in the row
        assertThat(claim.resource().get("service.instance.id"))
                .isNotEqualTo(enqueue.resource().get("service.instance.id"));
        assertThat(claim.attribute("pulse.attempt")).isEqualTo("1");
        assertThat(execute.attribute("pulse.agent")).isEqualTo("traced-serverless");
        assertThat(execute.attribute("pulse.outcome")).isEqualTo("succeeded");
        assertThat(execute.kind()).isEqualTo(SpanKind.SPAN_KIND_CONSUMER);
        assertThat(deliver.kind()).isEqualTo(SpanKind.SPAN_KIND_CLIENT);
        assertThat(deliver.attribute("http.response.status_code")).isEqualTo("200");

        ServerlessEndpointStandIn.Received request =
                endpoint.received().stream()
                        .filter(r -> id.equals(r.header("Pulse-Task-Id")))
                        .findFirst()
                        .orElseThrow();
        assertThat(request.header("traceparent"))
                .as("the agent runs in the execution span")
                .isEqualTo("00-" + traceId + "-" + execute.spanId() + "-01");
        assertThat(request.header("tracestate")).isEqualTo("vendor=opaque");
        assertThat(callback.header("traceparent"))
                .isEqualTo("00-" + traceId + "-" + deliver.spanId() + "-01");
        assertThat(collector.problems()).isEmpty();
    }

    @Test
    void anLlmAgentsExecutionSpanCarriesTheGenAiAttributesWithItsTokenCounts() throws Exception {
        String traceId = hex(16);
        String id =
                enqueue(
                        "traced-llm",
                        "{\"text\": \"a long article\"}",
                        "00-" + traceId + "-" + hex(8) + "-01",
                        null);
        assertThat(awaitEnd(id).path("state").asText()).isEqualTo("succeeded");

        ReceivedSpan execute = span(traceId, "pulse.task.execute", id);
        assertThat(execute.attributes())
                .containsEntry("gen_ai.operation.name", "chat")
                .containsEntry("gen_ai.system", "openai")
                .containsEntry("gen_ai.request.model", "stand-in-model")
                .containsEntry("gen_ai.response.model", "stand-in-model-2026")
                .containsEntry("gen_ai.usage.input_tokens", "21")
                .containsEntry("gen_ai.usage.output_tokens", "8");
    }

    @Test
    void aLocalAgentSeesTheExecutionSpanInTraceparent() throws Exception {
        String traceId = hex(16);
        String id =
                enqueue(
                        "traced-local",
                        "{}",
                        "00-" + traceId + "-" + hex(8) + "-01",
                        "vendor=local");
        JsonNode task = awaitEnd(id);
        assertThat(task.path("state").asText()).as("%s", task).isEqualTo("succeeded");

        ReceivedSpan execute = span(traceId, "pulse.task.execute", id);
        assertThat(task.path("result").path("traceparent").asText())
                .isEqualTo("00-" + traceId + "-" + execute.spanId() + "-01");
        assertThat(task.path("result").path("tracestate").asText()).isEqualTo("vendor=local");
    }

    @Test
    void aTaskQueuedWithoutATraceStartsOneOfItsOwn() throws Exception {
        String id = enqueue("traced-local", "{}", null, null);
        JsonNode task = awaitEnd(id);
        ReceivedSpan enqueue =
                collector.await(
                        s ->
                                s.name().equals("pulse.task.enqueue")
                                        && id.equals(s.attribute("pulse.task.id")),
                        "pulse.task.enqueue of " + id,
                        PATIENCE);
        assertThat(enqueue.parentSpanId()).as("a root span").isEmpty();
        ReceivedSpan execute = span(enqueue.traceId(), "pulse.task.execute", id);
        assertThat(execute.parentSpanId()).isEqualTo(enqueue.spanId());
        // sampled, and (W3C Trace Context level 2) flagged as a random trace id Pulse made
        assertThat(task.path("result").path("traceparent").asText())
                .isEqualTo("00-" + enqueue.traceId() + "-" + execute.spanId() + "-03");
    }

    @Test
    void withoutAnEndpointAgentsGetTheCallersContextAsItCame() throws Exception {
        try (TestNode untraced = new TestNode(TestDatabase.create(), Map.of())) {
            String traceparent = "00-" + hex(16) + "-" + hex(8) + "-01";
            putTraceparentPrinter(untraced, "traced-local");
            HttpResponse<String> created =
                    untraced.send(
                            untraced.request("/v1/tasks")
                                    .header("traceparent", traceparent)
                                    .POST(
                                            HttpRequest.BodyPublishers.ofString(
                                                    "{\"agent\": \"traced-local\"}"))
                                    .build());
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
            String id = json.readTree(created.body()).path("id").asText();
            JsonNode task = awaitEnd(untraced, id);
            assertThat(task.path("result").path("traceparent").asText()).isEqualTo(traceparent);
        }
    }

    @Test
    void anMcpHostsTraceContextReachesTheTasksItQueues() throws Exception {
        try (TestNode untraced = new TestNode(TestDatabase.create(), Map.of())) {
            putTraceparentPrinter(untraced, "mcp-traced");
            String inHeader = "00-" + hex(16) + "-" + hex(8) + "-01";
            String inMeta = "00-" + hex(16) + "-" + hex(8) + "-01";
            try (McpSyncClient host = mcpClient(untraced, inHeader)) {
                host.initialize();
                String fromHeader =
                        queueOverMcp(
                                host,
                                new McpSchema.CallToolRequest(
                                        "queue_task", Map.of("agent", "mcp-traced")));
                String fromMeta =
                        queueOverMcp(
                                host,
                                McpSchema.CallToolRequest.builder()
                                        .name("queue_task")
                                        .arguments(Map.of("agent", "mcp-traced"))
                                        .meta(Map.of("traceparent", inMeta))
                                        .build());
                assertThat(
                                awaitEnd(untraced, fromHeader)
                                        .path("result")
                                        .path("traceparent")
                                        .asText())
                        .as("the HTTP request's traceparent")
                        .isEqualTo(inHeader);
                assertThat(awaitEnd(untraced, fromMeta).path("result").path("traceparent").asText())
                        .as("_meta.traceparent, which wins over the header")
                        .isEqualTo(inMeta);
            }
        }
    }

    /** A local agent whose result is the TRACEPARENT it was started with. */
    private static void putTraceparentPrinter(TestNode node, String name) {
        HttpResponse<String> put =
                node.send(
                        node.request("/v1/agents/" + name)
                                .PUT(
                                        HttpRequest.BodyPublishers.ofString(
                                                agentDocument(
                                                        name,
                                                        "{\"executor\": \"local\", \"timeout\": \"60s\","
                                                                + " \"local\": {\"command\": [\"sh\", \"-c\","
                                                                + " \"cat >/dev/null; printf"
                                                                + " '{\\\"traceparent\\\": \\\"%s\\\"}'"
                                                                + " \\\"$TRACEPARENT\\\"\"]}}")))
                                .build());
        assertThat(put.statusCode()).as(put.body()).isIn(200, 201);
    }

    private static McpSyncClient mcpClient(TestNode node, String traceparent) {
        return McpClient.sync(
                        HttpClientStreamableHttpTransport.builder(node.url(""))
                                .endpoint("/mcp")
                                .requestBuilder(
                                        HttpRequest.newBuilder()
                                                .header(
                                                        "Authorization",
                                                        "Bearer " + TestNode.ADMIN_KEY)
                                                .header("traceparent", traceparent))
                                .build())
                .clientInfo(new McpSchema.Implementation("tracing-test", "1"))
                .requestTimeout(PATIENCE)
                .build();
    }

    private static String queueOverMcp(McpSyncClient host, McpSchema.CallToolRequest request) {
        McpSchema.CallToolResult result = host.callTool(request);
        assertThat(result.isError())
                .as(String.valueOf(result.content()))
                .isNotEqualTo(Boolean.TRUE);
        @SuppressWarnings("unchecked")
        Map<String, Object> task = (Map<String, Object>) result.structuredContent();
        return (String) task.get("id");
    }

    private static ReceivedSpan span(String traceId, String name, String taskId)
            throws InterruptedException {
        ReceivedSpan span =
                collector.await(
                        s -> s.traceId().equals(traceId) && s.name().equals(name),
                        name + " in trace " + traceId,
                        PATIENCE);
        assertThat(span.attribute("pulse.task.id")).as(name).isEqualTo(taskId);
        return span;
    }

    private static String enqueue(String agent, String input, String traceparent, String tracestate)
            throws Exception {
        HttpRequest.Builder request =
                api.request("/v1/tasks")
                        .POST(
                                HttpRequest.BodyPublishers.ofString(
                                        "{\"agent\": \""
                                                + agent
                                                + "\", \"input\": "
                                                + input
                                                + ", \"max_attempts\": 1, \"callback_url\": \""
                                                + receiver.url("/done")
                                                + "\"}"));
        if (traceparent != null) {
            request.header("traceparent", traceparent);
        }
        if (tracestate != null) {
            request.header("tracestate", tracestate);
        }
        HttpResponse<String> created = api.send(request.build());
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        return json.readTree(created.body()).path("id").asText();
    }

    private static JsonNode awaitEnd(String id) throws Exception {
        return awaitEnd(api, id);
    }

    private static JsonNode awaitEnd(TestNode node, String id) throws Exception {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        JsonNode task = null;
        while (System.nanoTime() < deadline) {
            task = json.readTree(node.get("/v1/tasks/" + id).body());
            if (Set.of("succeeded", "failed", "cancelled").contains(task.path("state").asText())) {
                return task;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("task " + id + " did not end within " + PATIENCE + ": " + task);
    }

    private static void agent(String name, String spec) {
        HttpResponse<String> put =
                api.send(
                        api.request("/v1/agents/" + name)
                                .PUT(HttpRequest.BodyPublishers.ofString(agentDocument(name, spec)))
                                .build());
        assertThat(put.statusCode()).as(put.body()).isIn(200, 201);
    }

    private static String agentDocument(String name, String spec) {
        return "{\"apiVersion\": \"pulse/v1\", \"kind\": \"Agent\", \"metadata\": {\"name\": \""
                + name
                + "\"}, \"spec\": "
                + spec
                + "}";
    }

    private static String hex(int bytes) {
        byte[] value = new byte[bytes];
        random.nextBytes(value);
        return HexFormat.of().formatHex(value);
    }
}
