package dev.pulse.server.api.docs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pulse.client.ApiClient;
import dev.pulse.client.ApiException;
import dev.pulse.client.api.AgentsApi;
import dev.pulse.client.api.DocsApi;
import dev.pulse.client.api.HealthApi;
import dev.pulse.client.api.McpApi;
import dev.pulse.client.api.MetricsApi;
import dev.pulse.client.api.SchedulesApi;
import dev.pulse.client.api.TasksApi;
import dev.pulse.client.model.Agent;
import dev.pulse.client.model.Attempt;
import dev.pulse.client.model.CompletionReport;
import dev.pulse.client.model.CompletionReportError;
import dev.pulse.client.model.Delivery;
import dev.pulse.client.model.JsonRpcMessage;
import dev.pulse.client.model.JsonRpcResponse;
import dev.pulse.client.model.NewTask;
import dev.pulse.client.model.NewTaskBatch;
import dev.pulse.client.model.RetryRequest;
import dev.pulse.client.model.ScheduleDetail;
import dev.pulse.client.model.ScheduleInput;
import dev.pulse.client.model.Task;
import dev.pulse.client.model.TaskBatchResult;
import dev.pulse.client.model.TaskPage;
import dev.pulse.client.model.TaskState;
import dev.pulse.client.model.TriggerResult;
import dev.pulse.server.TestNode;
import dev.pulse.workers.testing.CallbackReceiver;
import java.io.File;
import java.net.URI;
import java.nio.file.Files;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A Java client generated from {@code openapi.yaml} at build time (openapi-generator, library
 * {@code native}, not edited) drives every operation of a real node: what the document promises is
 * what a client built from it can use. The test node checks every response against the document as
 * well, and the test fails if an operation of the document was left out here.
 */
class OpenApiClientRoundTripTest {

    private static final Duration PATIENCE = Duration.ofSeconds(60);

    private static TestNode pulse;
    private static CallbackReceiver callbacks;
    private static CallbackReceiver asyncFunction;
    private static TasksApi tasks;
    private static SchedulesApi schedules;
    private static AgentsApi agents;
    private static HealthApi health;
    private static MetricsApi metrics;
    private static DocsApi docs;
    private static McpApi mcp;
    private final Set<String> exercised = new HashSet<>();

    @BeforeAll
    static void start() throws Exception {
        callbacks = new CallbackReceiver();
        asyncFunction = new CallbackReceiver();
        asyncFunction.respondWith(() -> 202);
        pulse = new TestNode();
        ApiClient client =
                new ApiClient()
                        .setScheme("http")
                        .setHost("127.0.0.1")
                        .setPort(pulse.node.port())
                        .setBasePath("")
                        .setRequestInterceptor(
                                request ->
                                        request.header(
                                                "Authorization", "Bearer " + TestNode.ADMIN_KEY));
        tasks = new TasksApi(client);
        schedules = new SchedulesApi(client);
        agents = new AgentsApi(client);
        health = new HealthApi(client);
        metrics = new MetricsApi(client);
        docs = new DocsApi(client);
        mcp = new McpApi(client);
    }

    @AfterAll
    static void stop() {
        try {
            pulse.close();
        } finally {
            callbacks.close();
            asyncFunction.close();
        }
    }

    @Test
    void aGeneratedClientUsesEveryOperationOfTheDocument() throws Exception {
        publicAndDocuments();
        agentsAreManaged();
        aTaskRunsAndItsCallbackIsRedelivered();
        aBatchQueuesTheGoodItems();
        aCancelledTaskIsRetriedWithoutABody();
        anAsyncAgentReportsItsOwnErrorCodeAndTheRetrySucceeds();
        aScheduleGoesThroughItsLife();
        anMcpRequestIsAnswered();
        agents.deleteAgent("later");
        exercised.add("deleteAgent");
        assertThatThrownBy(() -> agents.getAgent("later"))
                .isInstanceOfSatisfying(
                        ApiException.class, e -> assertThat(e.getCode()).isEqualTo(404));

        Set<String> documented = new TreeSet<>();
        ApiDocsRoutes.document()
                .path("paths")
                .forEach(
                        path ->
                                path.forEach(
                                        op -> {
                                            if (op.has("operationId")) {
                                                documented.add(op.path("operationId").asText());
                                            }
                                        }));
        assertThat(new TreeSet<>(exercised))
                .as("operations driven through the generated client")
                .isEqualTo(documented);
    }

    private void publicAndDocuments() throws Exception {
        assertThat(call("live", health::live).getStatus()).hasToString("live");
        assertThat(call("ready", health::ready).getStatus()).hasToString("ready");
        @SuppressWarnings("unchecked")
        Map<String, Object> document =
                (Map<String, Object>) call("openApiDocument", docs::openApiDocument);
        assertThat(document).containsKeys("openapi", "paths", "components");
        assertThat(text(call("docsPage", docs::docsPage))).contains("Queue a task");
        assertThat(text(call("metrics", metrics::metrics))).contains("# TYPE");
    }

    private void agentsAreManaged() throws Exception {
        assertThat(call("listAgents", agents::listAgents).getItems())
                .extracting(Agent::getName)
                .contains("echo");
        assertThat(call("getAgent", () -> agents.getAgent("echo")).getAvailable()).isTrue();
        Map<String, Object> later =
                Map.of(
                        "apiVersion",
                        "pulse/v1",
                        "kind",
                        "Agent",
                        "metadata",
                        Map.of("name", "later"),
                        "spec",
                        Map.of(
                                "executor",
                                "serverless",
                                "max_attempts",
                                1,
                                "serverless",
                                Map.of("url", asyncFunction.url("/run"), "mode", "async")));
        assertThat(call("putAgent", () -> agents.putAgent("later", later)).getName())
                .isEqualTo("later");
    }

    private void aTaskRunsAndItsCallbackIsRedelivered() throws Exception {
        NewTask echo =
                new NewTask()
                        .agent("echo")
                        .input(Map.of("n", 1))
                        .callbackUrl(URI.create(callbacks.url("/hook")));
        Task created = call("createTask", () -> tasks.createTask(echo, "round-trip-1"));
        assertThat(tasks.createTask(echo, "round-trip-1").getId())
                .as("the same idempotency key")
                .isEqualTo(created.getId());
        Task done =
                await(
                        () -> call("getTask", () -> tasks.getTask(created.getId())),
                        t -> t.getState() == TaskState.SUCCEEDED);
        assertThat(done.getFinishedAt()).isNotNull();

        TaskPage page =
                call(
                        "listTasks",
                        () -> tasks.listTasks(TaskState.SUCCEEDED, "echo", null, 10, null));
        assertThat(page.getItems()).extracting(Task::getId).contains(created.getId());
        List<Attempt> attempts =
                call("listTaskAttempts", () -> tasks.listTaskAttempts(created.getId())).getItems();
        assertThat(attempts).hasSize(1);

        String webhookId = callbacks.next(PATIENCE).header("webhook-id");
        Delivery delivered =
                await(
                                () ->
                                        call(
                                                        "listTaskDeliveries",
                                                        () ->
                                                                tasks.listTaskDeliveries(
                                                                        created.getId()))
                                                .getItems(),
                                items ->
                                        items.size() == 1
                                                && items.get(0).getState()
                                                        == Delivery.StateEnum.DELIVERED)
                        .get(0);
        Delivery again = call("redeliver", () -> tasks.redeliver(delivered.getId()));
        assertThat(again.getId()).isEqualTo(delivered.getId());
        assertThat(callbacks.next(PATIENCE).header("webhook-id"))
                .as("the same event again")
                .isEqualTo(webhookId);
    }

    private void aBatchQueuesTheGoodItems() throws Exception {
        TaskBatchResult result =
                call(
                        "createTasks",
                        () ->
                                tasks.createTasks(
                                        new NewTaskBatch()
                                                .tasks(
                                                        List.of(
                                                                new NewTask().agent("echo"),
                                                                new NewTask()
                                                                        .agent("no-such-agent")))));
        assertThat(result.getCreated()).isEqualTo(1);
        assertThat(result.getInvalid()).isEqualTo(1);
        assertThat(result.getItems().get(1).getErrors()).isNotEmpty();
    }

    private void aCancelledTaskIsRetriedWithoutABody() throws Exception {
        Task later =
                tasks.createTask(
                        new NewTask()
                                .agent("echo")
                                .runAt(OffsetDateTime.now().plusHours(1).toString()),
                        null);
        assertThat(later.getState()).isEqualTo(TaskState.SCHEDULED);
        assertThat(call("cancelTask", () -> tasks.cancelTask(later.getId())).getState())
                .isEqualTo(TaskState.CANCELLED);
        Task retried = call("retryTask", () -> tasks.retryTask(later.getId(), null));
        assertThat(retried.getState())
                .isIn(TaskState.QUEUED, TaskState.RUNNING, TaskState.SUCCEEDED);
        await(() -> tasks.getTask(later.getId()), t -> t.getState() == TaskState.SUCCEEDED);
    }

    private void anAsyncAgentReportsItsOwnErrorCodeAndTheRetrySucceeds() throws Exception {
        Task task =
                tasks.createTask(new NewTask().agent("later").input(Map.of("text", "hi")), null);
        String token = asyncFunction.next(PATIENCE).header("Pulse-Lease-Token");
        Task failed =
                call(
                        "completeTask",
                        () ->
                                tasks.completeTask(
                                        task.getId(),
                                        new CompletionReport()
                                                .leaseToken(UUID.fromString(token))
                                                .error(
                                                        new CompletionReportError()
                                                                .code("model_refused")
                                                                .message("the model said no"))));
        assertThat(failed.getState()).isEqualTo(TaskState.FAILED);
        assertThat(failed.getError().getCode())
                .as("a code Pulse does not define itself")
                .isEqualTo("model_refused");
        assertThat(tasks.listTasks(TaskState.FAILED, "later", null, 500, null).getItems())
                .as("a page holding that task still reads")
                .extracting(Task::getId)
                .contains(task.getId());

        tasks.retryTask(task.getId(), new RetryRequest().attempts(1));
        String second = asyncFunction.next(PATIENCE).header("Pulse-Lease-Token");
        Task succeeded =
                tasks.completeTask(
                        task.getId(),
                        new CompletionReport()
                                .leaseToken(UUID.fromString(second))
                                .result(Map.of("summary", "HI")));
        assertThat(succeeded.getState()).isEqualTo(TaskState.SUCCEEDED);
        assertThat(succeeded.getResult()).isEqualTo(Map.of("summary", "HI"));
    }

    private void aScheduleGoesThroughItsLife() throws Exception {
        ScheduleInput nightly =
                new ScheduleInput()
                        .name("nightly")
                        .cron("30 2 * * *")
                        .timezone("Europe/Berlin")
                        .agent("echo");
        ScheduleDetail created = call("createSchedule", () -> schedules.createSchedule(nightly));
        assertThat(created.getNextFireTimes())
                .hasSize(5)
                .allSatisfy(t -> assertThat(t.getMinute()).isEqualTo(30));
        assertThat(call("getSchedule", () -> schedules.getSchedule("nightly")).getCron())
                .isEqualTo("30 2 * * *");
        assertThat(call("listSchedules", schedules::listSchedules).getItems())
                .extracting(s -> s.getName())
                .contains("nightly");
        assertThat(call("pauseSchedule", () -> schedules.pauseSchedule("nightly")).getEnabled())
                .isFalse();
        assertThat(call("resumeSchedule", () -> schedules.resumeSchedule("nightly")).getEnabled())
                .isTrue();
        ScheduleDetail replaced =
                call(
                        "putSchedule",
                        () ->
                                schedules.putSchedule(
                                        "nightly",
                                        new ScheduleInput()
                                                .cron("0 3 * * *")
                                                .timezone("Europe/Berlin")
                                                .agent("echo")));
        assertThat(replaced.getCron()).isEqualTo("0 3 * * *");
        TriggerResult fired = call("triggerSchedule", () -> schedules.triggerSchedule("nightly"));
        assertThat(fired.getOutcome()).isEqualTo(TriggerResult.OutcomeEnum.ENQUEUED);
        assertThat(fired.getTask().getScheduleName()).isEqualTo("nightly");
        call(
                "deleteSchedule",
                () -> {
                    schedules.deleteSchedule("nightly");
                    return null;
                });
        assertThatThrownBy(() -> schedules.getSchedule("nightly"))
                .isInstanceOfSatisfying(
                        ApiException.class, e -> assertThat(e.getCode()).isEqualTo(404));
    }

    /** One JSON-RPC message to /mcp (MCP clients are tested with the SDK's, in McpServerTest). */
    private void anMcpRequestIsAnswered() throws Exception {
        JsonRpcResponse response =
                call(
                        "mcp",
                        () ->
                                mcp.mcp(
                                        new JsonRpcMessage()
                                                .jsonrpc(JsonRpcMessage.JsonrpcEnum._2_0)
                                                .id(7)
                                                .method("tools/list")));
        assertThat(response.getId()).isEqualTo(7);
        assertThat(response.getResult()).containsKey("tools");
    }

    private interface Call<T> {
        T run() throws Exception;
    }

    private <T> T call(String operationId, Call<T> call) throws Exception {
        exercised.add(operationId);
        return call.run();
    }

    private static String text(File file) throws Exception {
        try {
            return Files.readString(file.toPath());
        } finally {
            Files.deleteIfExists(file.toPath());
        }
    }

    private static <T> T await(Call<T> read, Predicate<T> done) throws Exception {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        T last = read.run();
        while (!done.test(last)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("still not as expected after " + PATIENCE + ": " + last);
            }
            Thread.sleep(100);
            last = read.run();
        }
        return last;
    }
}
