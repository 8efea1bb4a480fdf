package dev.pulse.executors.serverless;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.CompletionReports;
import dev.pulse.executors.ExecutionError;
import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.ExecutionResult;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.ServerlessSpec;
import dev.pulse.executors.standins.ServerlessEndpointStandIn;
import dev.pulse.executors.standins.ServerlessEndpointStandIn.Answer;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ServerlessExecutorTest {

    private static final String TOKEN = "tok-9f8e7d6c5b4a";
    private static final String API_KEY = "key-0a1b2c3d4e5f";
    private static final String PASSWORD = "pw-correct-horse-battery";

    private final ObjectMapper json = new ObjectMapper();
    private final Map<String, String> environment =
            Map.of("FN_TOKEN", TOKEN, "FN_KEY", API_KEY, "FN_PASSWORD", PASSWORD);
    private final OkHttpClient http = new OkHttpClient();
    private final ServerlessExecutor executor =
            new ServerlessExecutor(
                    http,
                    json,
                    environment::get,
                    CompletionReports.NONE,
                    Clock.systemUTC(),
                    Duration.ofMillis(10));
    private final ServerlessEndpointStandIn endpoint;

    ServerlessExecutorTest() throws Exception {
        endpoint = new ServerlessEndpointStandIn();
    }

    @AfterEach
    void tearDown() {
        executor.close();
        endpoint.close();
    }

    @Test
    void postsTheInputAsJsonAndReturnsTheWholeResponse() throws Exception {
        endpoint.answer(Answer.json(200, "{\"summary\": \"short\", \"words\": 3}"));
        ExecutionRequest request =
                request(
                        ServerlessSpec.sync(endpoint.url("/run")),
                        "{\"text\": \"a b c\"}",
                        Duration.ofSeconds(60));

        ExecutionResult result = executor.execute(request);

        assertThat(result.succeeded()).as("%s", result).isTrue();
        assertThat(result.output())
                .isEqualTo(json.readTree("{\"summary\": \"short\", \"words\": 3}"));
        ServerlessEndpointStandIn.Received got = endpoint.received().get(0);
        assertThat(got.method()).isEqualTo("POST");
        assertThat(got.path()).isEqualTo("/run");
        assertThat(json.readTree(got.body())).isEqualTo(json.readTree("{\"text\": \"a b c\"}"));
        assertThat(got.header("Content-Type")).startsWith("application/json");
        assertThat(got.header("Pulse-Task-Id")).isEqualTo(request.taskId().toString());
        assertThat(got.header("Pulse-Attempt")).isEqualTo("1");
    }

    @Test
    void aJsonPointerSelectsThePartOfTheResponseThatIsTheResult() throws Exception {
        endpoint.answer(
                Answer.json(200, "{\"output\": {\"label\": \"spam\"}, \"billing\": {\"ms\": 12}}"));
        ExecutionResult result =
                executor.execute(
                        request(
                                ServerlessSpec.sync(endpoint.url("/classify"))
                                        .withResult("/output"),
                                "{}",
                                Duration.ofSeconds(60)));
        assertThat(result.succeeded()).isTrue();
        assertThat(result.output()).isEqualTo(json.readTree("{\"label\": \"spam\"}"));
    }

    @Test
    void aPointerToNothingIsInvalidOutput() throws Exception {
        endpoint.answer(Answer.json(200, "{\"data\": 1}"));
        ExecutionResult result =
                executor.execute(
                        request(
                                ServerlessSpec.sync(endpoint.url("/")).withResult("/output"),
                                "{}",
                                Duration.ofSeconds(60)));
        assertThat(result.error().code()).isEqualTo(ExecutionError.INVALID_OUTPUT);
        assertThat(result.error().message()).contains("/output");
    }

    @Test
    void bearerAuthIsResolvedFromTheEnvironmentAtRunTime() throws Exception {
        executor.execute(
                request(
                        ServerlessSpec.sync(endpoint.url("/"))
                                .withAuth(new ServerlessSpec.BearerAuth("${env:FN_TOKEN}")),
                        "{}",
                        Duration.ofSeconds(60)));
        assertThat(endpoint.received().get(0).header("Authorization")).isEqualTo("Bearer " + TOKEN);
    }

    @Test
    void headerAuthAndExtraHeadersAreSent() throws Exception {
        ServerlessSpec spec =
                new ServerlessSpec(
                        endpoint.url("/put"),
                        "PUT",
                        Map.of("X-Tenant", "acme", "X-Trace", "t-${env:FN_KEY}"),
                        new ServerlessSpec.HeaderAuth("X-Api-Key", "${env:FN_KEY}"),
                        null,
                        ServerlessSpec.Mode.SYNC,
                        2);
        ExecutionResult result = executor.execute(request(spec, "{}", Duration.ofSeconds(60)));
        assertThat(result.succeeded()).isTrue();
        ServerlessEndpointStandIn.Received got = endpoint.received().get(0);
        assertThat(got.method()).isEqualTo("PUT");
        assertThat(got.header("X-Api-Key")).isEqualTo(API_KEY);
        assertThat(got.header("X-Tenant")).isEqualTo("acme");
        assertThat(got.header("X-Trace")).isEqualTo("t-" + API_KEY);
        assertThat(got.header("Authorization")).isNull();
    }

    @Test
    void basicAuthIsSent() throws Exception {
        executor.execute(
                request(
                        ServerlessSpec.sync(endpoint.url("/"))
                                .withAuth(
                                        new ServerlessSpec.BasicAuth(
                                                "pulse", "${env:FN_PASSWORD}")),
                        "{}",
                        Duration.ofSeconds(60)));
        String expected =
                Base64.getEncoder()
                        .encodeToString(("pulse:" + PASSWORD).getBytes(StandardCharsets.UTF_8));
        assertThat(endpoint.received().get(0).header("Authorization"))
                .isEqualTo("Basic " + expected);
    }

    @Test
    void a503IsRetriedWithinTheAttempt() throws Exception {
        endpoint.answer(
                Answer.json(503, "{\"error\": \"cold start\"}"),
                Answer.json(200, "{\"ok\": true}"));
        ExecutionResult result =
                executor.execute(
                        request(
                                ServerlessSpec.sync(endpoint.url("/")),
                                "{}",
                                Duration.ofSeconds(60)));
        assertThat(result.succeeded()).as("%s", result).isTrue();
        assertThat(result.output().path("ok").asBoolean()).isTrue();
        assertThat(endpoint.received()).hasSize(2);
        assertThat(result.logs()).contains("HTTP 503").contains("retrying");
    }

    @Test
    void a429WithRetryAfterSecondsIsThrottledUntilThenWithoutWaiting() throws Exception {
        Instant before = Instant.now();
        endpoint.answer(
                Answer.json(429, "{\"error\": \"slow down\"}").withHeader("Retry-After", "2"),
                Answer.json(200, "{\"ok\": true}"));
        ExecutionResult result =
                executor.execute(
                        request(
                                ServerlessSpec.sync(endpoint.url("/")),
                                "{}",
                                Duration.ofSeconds(60)));
        assertThat(result.isThrottled()).as("%s", result).isTrue();
        assertThat(result.error().code()).isEqualTo(ExecutionError.THROTTLED);
        assertThat(result.holdUntil()).isAfterOrEqualTo(before.plusSeconds(2));
        assertThat(result.error().message()).contains("HTTP 429");
        assertThat(endpoint.received()).as("not retried within the attempt").hasSize(1);
    }

    @Test
    void a429WithARetryAfterDateIsThrottledUntilTheDate() throws Exception {
        ZonedDateTime retryAt =
                ZonedDateTime.now(ZoneOffset.UTC)
                        .plusSeconds(30)
                        .withNano(0); // the header has whole seconds
        endpoint.answer(
                Answer.json(429, "{}")
                        .withHeader(
                                "Retry-After",
                                DateTimeFormatter.RFC_1123_DATE_TIME.format(retryAt)));
        ExecutionResult result =
                executor.execute(
                        request(
                                ServerlessSpec.sync(endpoint.url("/")),
                                "{}",
                                Duration.ofSeconds(60)));
        assertThat(result.holdUntil()).isEqualTo(retryAt.toInstant());
    }

    @Test
    void aRetryAfterBeyondTheTimeoutIsThrottledAtOnceInsteadOfWaiting() throws Exception {
        endpoint.answer(Answer.json(429, "{}").withHeader("Retry-After", "3600"));
        long start = System.nanoTime();
        ExecutionResult result =
                executor.execute(
                        request(
                                ServerlessSpec.sync(endpoint.url("/")),
                                "{}",
                                Duration.ofSeconds(60)));
        // Half the timeout: a run that waited for the Retry-After, or for its timeout, would take
        // longer.
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(30));
        assertThat(result.error().code()).isEqualTo(ExecutionError.THROTTLED);
        assertThat(result.holdUntil()).isAfter(Instant.now().plusSeconds(3000));
        assertThat(endpoint.received()).hasSize(1);
    }

    @Test
    void retriesAreBoundedAndTheLastAnswerIsReported() throws Exception {
        endpoint.answer(Answer.json(500, "{\"error\": \"boom\"}"));
        ExecutionResult result =
                executor.execute(
                        request(
                                ServerlessSpec.sync(endpoint.url("/")).withRetries(1),
                                "{}",
                                Duration.ofSeconds(60)));
        assertThat(result.error().code()).isEqualTo(ExecutionError.AGENT_ERROR);
        assertThat(result.error().message())
                .contains("HTTP 500")
                .contains("boom")
                .contains("2 tries");
        assertThat(endpoint.received()).hasSize(2);
    }

    @Test
    void connectionErrorsAreRetriedThenReported() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        ExecutionResult result =
                executor.execute(
                        request(
                                ServerlessSpec.sync("http://127.0.0.1:" + closedPort + "/"),
                                "{}",
                                Duration.ofSeconds(60)));
        assertThat(result.error().code()).isEqualTo(ExecutionError.AGENT_ERROR);
        assertThat(result.error().message())
                .contains("cannot reach the endpoint")
                .contains("3 tries");
    }

    @Test
    void a400IsAnAgentErrorWithTheStatusAndAnExcerptAndIsNotRetried() throws Exception {
        endpoint.answer(Answer.json(400, "{\"error\": \"field 'text' is required\"}"));
        ExecutionResult result =
                executor.execute(
                        request(
                                ServerlessSpec.sync(endpoint.url("/")),
                                "{}",
                                Duration.ofSeconds(60)));
        assertThat(result.error().code()).isEqualTo(ExecutionError.AGENT_ERROR);
        assertThat(result.error().message())
                .contains("HTTP 400")
                .contains("field 'text' is required");
        assertThat(endpoint.received()).hasSize(1);
    }

    @Test
    void redirectsAreNotFollowed() throws Exception {
        endpoint.answer(
                new Answer(302, Map.of("Location", endpoint.url("/elsewhere")), "", Duration.ZERO));
        ExecutionResult result =
                executor.execute(
                        request(
                                ServerlessSpec.sync(endpoint.url("/")),
                                "{}",
                                Duration.ofSeconds(60)));
        assertThat(result.error().code()).isEqualTo(ExecutionError.AGENT_ERROR);
        assertThat(result.error().message())
                .contains("HTTP 302")
                .contains("does not follow redirects");
        assertThat(endpoint.received()).hasSize(1);
    }

    @Test
    void aSlowEndpointTimesOutAtTheRequestTimeout() throws Exception {
        // The endpoint answers after ten minutes, so ending in a fraction of that (however busy the
        // machine) is the timeout's doing.
        endpoint.answer(Answer.json(200, "{}").after(Duration.ofMinutes(10)));
        long start = System.nanoTime();
        ExecutionResult result =
                executor.execute(
                        request(
                                ServerlessSpec.sync(endpoint.url("/")),
                                "{}",
                                Duration.ofMillis(400)));
        assertThat(result.error().code()).isEqualTo(ExecutionError.TIMEOUT);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMinutes(2));
        assertThat(endpoint.received()).hasSize(1);
    }

    @Test
    void anInterruptCancelsTheCallAndThrows() throws Exception {
        endpoint.answer(Answer.json(200, "{}").after(Duration.ofMinutes(10)));
        ExecutorService caller = Executors.newSingleThreadExecutor();
        Future<Object> run =
                caller.submit(
                        () -> {
                            try {
                                return executor.execute(
                                        request(
                                                ServerlessSpec.sync(endpoint.url("/")),
                                                "{}",
                                                Duration.ofMinutes(20)));
                            } catch (InterruptedException e) {
                                return e;
                            }
                        });
        assertThat(endpoint.awaitFirstRequest(Duration.ofMinutes(2))).isTrue();
        assertThat(http.dispatcher().runningCallsCount()).isEqualTo(1);

        caller.shutdownNow();
        assertThat(run.get(2, TimeUnit.MINUTES)).isInstanceOf(InterruptedException.class);
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (http.dispatcher().runningCallsCount() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(http.dispatcher().runningCallsCount())
                .as("the HTTP call was cancelled")
                .isZero();
    }

    @Test
    void aResponseThatIsNotJsonIsInvalidOutput() throws Exception {
        endpoint.answer(
                new Answer(
                        200,
                        Map.of("Content-Type", "text/html"),
                        "<html>It works!</html>",
                        Duration.ZERO));
        ExecutionResult result =
                executor.execute(
                        request(
                                ServerlessSpec.sync(endpoint.url("/")),
                                "{}",
                                Duration.ofSeconds(60)));
        assertThat(result.error().code()).isEqualTo(ExecutionError.INVALID_OUTPUT);
        assertThat(result.error().message())
                .contains("not JSON")
                .contains("text/html")
                .contains("It works!");
    }

    @Test
    void anEmptyResponseIsInvalidOutput() throws Exception {
        endpoint.answer(new Answer(204, Map.of(), "", Duration.ZERO));
        ExecutionResult result =
                executor.execute(
                        request(
                                ServerlessSpec.sync(endpoint.url("/")),
                                "{}",
                                Duration.ofSeconds(60)));
        assertThat(result.error().code()).isEqualTo(ExecutionError.INVALID_OUTPUT);
        assertThat(result.error().message()).contains("empty body");
    }

    @Test
    void secretsEchoedByTheEndpointNeverReachTheResult() throws Exception {
        // A misbehaving endpoint that quotes the credentials it was sent in its error body.
        endpoint.answer(
                Answer.json(
                        401,
                        "{\"error\": \"bad token Bearer "
                                + TOKEN
                                + " with key "
                                + API_KEY
                                + "\"}"));
        ServerlessSpec spec =
                ServerlessSpec.sync(endpoint.url("/"))
                        .withAuth(new ServerlessSpec.BearerAuth("${env:FN_TOKEN}"))
                        .withHeaders(Map.of("X-Key", "${env:FN_KEY}"));
        ExecutionResult result = executor.execute(request(spec, "{}", Duration.ofSeconds(60)));
        assertThat(result.error().code()).isEqualTo(ExecutionError.AGENT_ERROR);
        assertThat(result.error().message())
                .contains("HTTP 401")
                .contains("[redacted]")
                .doesNotContain(TOKEN)
                .doesNotContain(API_KEY);
        assertThat(String.valueOf(result)).doesNotContain(TOKEN).doesNotContain(API_KEY);
    }

    @Test
    void secretsInRetryLogsAreRedacted() throws Exception {
        endpoint.answer(
                Answer.json(503, "{\"echo\": \"" + PASSWORD + "\"}"), Answer.json(200, "{}"));
        ServerlessSpec spec =
                ServerlessSpec.sync(endpoint.url("/"))
                        .withAuth(new ServerlessSpec.BasicAuth("u", "${env:FN_PASSWORD}"));
        ExecutionResult result = executor.execute(request(spec, "{}", Duration.ofSeconds(60)));
        assertThat(result.succeeded()).isTrue();
        assertThat(result.logs()).contains("HTTP 503").doesNotContain(PASSWORD);
    }

    @Test
    void aMissingSecretFailsWithoutCallingAndNamesOnlyTheVariable() throws Exception {
        ExecutionResult result =
                executor.execute(
                        request(
                                ServerlessSpec.sync(endpoint.url("/"))
                                        .withAuth(
                                                new ServerlessSpec.BearerAuth(
                                                        "${env:NOT_SET_ANYWHERE}")),
                                "{}",
                                Duration.ofSeconds(60)));
        assertThat(result.error().code()).isEqualTo(ExecutionError.EXECUTOR_UNAVAILABLE);
        assertThat(result.error().message())
                .contains("NOT_SET_ANYWHERE")
                .contains("spec.serverless.auth.bearer");
        assertThat(endpoint.received()).isEmpty();
    }

    @Test
    void asyncModeOnANodeWithoutAReportAddressFailsWithoutCalling() throws Exception {
        ExecutionResult result =
                executor.execute(
                        request(
                                ServerlessSpec.sync(endpoint.url("/"))
                                        .withMode(ServerlessSpec.Mode.ASYNC),
                                "{}",
                                Duration.ofSeconds(60)));
        assertThat(result.error().code()).isEqualTo(ExecutionError.EXECUTOR_UNAVAILABLE);
        assertThat(result.error().message()).contains("async").contains("PULSE_PUBLIC_URL");
        assertThat(endpoint.received()).isEmpty();
    }

    @Test
    void validationRequiresTheServerlessBlock() {
        assertThat(
                        executor.validate(
                                AgentDefinition.withDefaults(
                                        "x", ServerlessExecutor.KIND, null, "test")))
                .singleElement()
                .asString()
                .startsWith("spec.serverless:");
    }

    private ExecutionRequest request(ServerlessSpec spec, String input, Duration timeout)
            throws Exception {
        AgentDefinition agent =
                AgentDefinition.withDefaults(
                        "fn", ServerlessExecutor.KIND, null, spec, null, "test");
        JsonNode in = json.readTree(input);
        return new ExecutionRequest(UUID.randomUUID(), 1, UUID.randomUUID(), agent, in, timeout);
    }
}
