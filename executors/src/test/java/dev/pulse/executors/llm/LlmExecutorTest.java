package dev.pulse.executors.llm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.ExecutionError;
import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.ExecutionResult;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.LlmSpec;
import dev.pulse.executors.standins.AnthropicStandIn;
import dev.pulse.executors.standins.OpenAiStandIn;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LlmExecutorTest {

    private static final String KEY = "sk-test-4f3e2d1c0b9a8877";

    private final ObjectMapper json = new ObjectMapper();
    private final Map<String, String> environment = Map.of("OPENAI_API_KEY", KEY);
    private final OkHttpClient http = new OkHttpClient();
    private final LlmExecutor executor = new LlmExecutor(http, json, environment::get);
    private final OpenAiStandIn openAi;

    LlmExecutorTest() throws Exception {
        openAi = new OpenAiStandIn();
    }

    @AfterEach
    void tearDown() {
        executor.close();
        openAi.close();
    }

    @Test
    void rendersThePromptCallsTheModelAndRecordsUsage() throws Exception {
        openAi.reply("A fox jumps.").usage(12, 5).model("gpt-test-2026-01-01");
        LlmSpec spec =
                spec("Summarise for {{input.audience}}: {{input.text}}")
                        .withSystem("You write {{input.style}} summaries.")
                        .withSampling(0.2, 64);

        ExecutionResult result =
                executor.execute(
                        request(
                                spec,
                                "{\"text\": \"The quick brown fox jumps over the lazy dog\", \"audience\": \"kids\", \"style\": \"short\"}"));

        assertThat(result.succeeded()).as("%s", result).isTrue();
        assertThat(result.output())
                .isEqualTo(
                        json.readTree(
                                """
                {"text": "A fox jumps.",
                 "usage": {"input_tokens": 12, "output_tokens": 5, "total_tokens": 17},
                 "model": "gpt-test-2026-01-01"}"""));
        OpenAiStandIn.Received got = openAi.received().get(0);
        assertThat(got.path()).isEqualTo("/v1/chat/completions");
        assertThat(got.authorization()).isEqualTo("Bearer " + KEY);
        JsonNode body = got.body();
        assertThat(body.path("model").asText()).isEqualTo("test-model");
        assertThat(body.path("temperature").asDouble()).isEqualTo(0.2);
        assertThat(body.path("max_tokens").asInt()).isEqualTo(64);
        assertThat(body.path("messages").get(0).path("role").asText()).isEqualTo("system");
        assertThat(body.path("messages").get(0).path("content").asText())
                .isEqualTo("You write short summaries.");
        assertThat(body.path("messages").get(1).path("role").asText()).isEqualTo("user");
        assertThat(body.path("messages").get(1).path("content").asText())
                .isEqualTo("Summarise for kids: The quick brown fox jumps over the lazy dog");
    }

    @Test
    void theWholeInputAndNestedFieldsCanBeReferenced() throws Exception {
        executor.execute(
                request(
                        spec("Data: {{input}} / first: {{ input.items.0.name }} / n: {{input.n}}"),
                        "{\"items\": [{\"name\": \"a\"}], \"n\": 3}"));
        assertThat(openAi.received().get(0).body().path("messages").get(0).path("content").asText())
                .isEqualTo("Data: {\"items\":[{\"name\":\"a\"}],\"n\":3} / first: a / n: 3");
    }

    @Test
    void jsonModeParsesTheReplyAsTheOutput() throws Exception {
        openAi.reply("{\"sentiment\": \"positive\", \"score\": 0.9}");
        ExecutionResult result =
                executor.execute(
                        request(
                                spec("Classify: {{input.text}}").withJson(true),
                                "{\"text\": \"great\"}"));
        assertThat(result.succeeded()).as("%s", result).isTrue();
        assertThat(result.output().path("output"))
                .isEqualTo(json.readTree("{\"sentiment\": \"positive\", \"score\": 0.9}"));
        assertThat(result.output().path("usage").path("total_tokens").asInt()).isEqualTo(17);
        assertThat(result.output().has("text")).isFalse();
    }

    @Test
    void jsonModeAcceptsAReplyInACodeFence() throws Exception {
        openAi.reply("```json\n[1, 2, 3]\n```");
        ExecutionResult result =
                executor.execute(request(spec("List: {{input}}").withJson(true), "{}"));
        assertThat(result.output().path("output")).isEqualTo(json.readTree("[1, 2, 3]"));
    }

    @Test
    void jsonModeWithAReplyThatIsNotJsonIsInvalidOutput() throws Exception {
        openAi.reply("Sure! The sentiment is positive.");
        ExecutionResult result =
                executor.execute(
                        request(
                                spec("Classify: {{input.text}}").withJson(true),
                                "{\"text\": \"great\"}"));
        assertThat(result.error().code()).isEqualTo(ExecutionError.INVALID_OUTPUT);
        assertThat(result.error().message()).contains("not JSON").contains("Sure! The sentiment");
        assertThat(result.logs()).isEqualTo("Sure! The sentiment is positive.");
    }

    @Test
    void aMissingFieldIsAnAgentErrorNamingItAndNothingIsSent() throws Exception {
        ExecutionResult result =
                executor.execute(
                        request(spec("Summarise: {{input.document.text}}"), "{\"document\": {}}"));
        assertThat(result.error().code()).isEqualTo(ExecutionError.AGENT_ERROR);
        assertThat(result.error().message())
                .contains("document.text")
                .contains("{{input.document.text}}");
        assertThat(openAi.received()).isEmpty();
    }

    @Test
    void anErrorAnswerIsAnAgentErrorWithItsStatusAndNeverTheKey() throws Exception {
        openAi.fail(401, "{\"error\": {\"message\": \"Incorrect API key provided: " + KEY + "\"}}");
        ExecutionResult result =
                executor.execute(request(spec("Hi {{input.name}}"), "{\"name\": \"Ada\"}"));
        assertThat(result.error().code()).isEqualTo(ExecutionError.AGENT_ERROR);
        assertThat(result.error().message())
                .contains("HTTP 401")
                .contains("spec.llm.api_key")
                .contains("[redacted]")
                .doesNotContain(KEY);
        assertThat(String.valueOf(result)).doesNotContain(KEY);
        assertThat(openAi.received()).as("LangChain4j's own retries are off").hasSize(1);
    }

    @Test
    void serverErrorsFailTheAttemptSoPulseRetriesIt() throws Exception {
        openAi.fail(503, "{\"error\": {\"message\": \"overloaded\"}}");
        ExecutionResult result = executor.execute(request(spec("Hi"), "{}"));
        assertThat(result.error().code()).isEqualTo(ExecutionError.AGENT_ERROR);
        assertThat(result.error().message()).contains("HTTP 503").contains("overloaded");
    }

    @Test
    void anUnreachableEndpointIsReported() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        LlmSpec spec =
                LlmSpec.openAi(
                        "http://127.0.0.1:" + closedPort + "/v1",
                        "test-model",
                        "${env:OPENAI_API_KEY}",
                        "Hi");
        ExecutionResult result = executor.execute(request(spec, "{}"));
        assertThat(result.error().code()).isEqualTo(ExecutionError.AGENT_ERROR);
        assertThat(result.error().message()).contains("cannot reach the model endpoint");
    }

    @Test
    void withoutAnApiKeyNoAuthorizationIsSent() throws Exception {
        LlmSpec spec = LlmSpec.openAi(openAi.baseUrl(), "llama3", null, "Hi");
        ExecutionResult result = executor.execute(request(spec, "{}"));
        assertThat(result.succeeded()).as("%s", result).isTrue();
        assertThat(openAi.received().get(0).authorization()).isNull();
    }

    @Test
    void aMissingKeyVariableMakesTheExecutorUnavailableWithoutCalling() throws Exception {
        LlmSpec spec =
                LlmSpec.openAi(openAi.baseUrl(), "test-model", "${env:NOT_SET_ANYWHERE}", "Hi");
        ExecutionResult result = executor.execute(request(spec, "{}"));
        assertThat(result.error().code()).isEqualTo(ExecutionError.EXECUTOR_UNAVAILABLE);
        assertThat(result.error().message())
                .contains("NOT_SET_ANYWHERE")
                .contains("spec.llm.api_key");
        assertThat(openAi.received()).isEmpty();
    }

    @Test
    void aSlowModelTimesOutAtTheRequestTimeout() throws Exception {
        // The model answers after ten minutes, so ending in a fraction of that (however busy the
        // machine) is the timeout's doing.
        openAi.delay(Duration.ofMinutes(10));
        long start = System.nanoTime();
        ExecutionResult result =
                executor.execute(
                        new ExecutionRequest(
                                UUID.randomUUID(),
                                1,
                                UUID.randomUUID(),
                                agent(spec("Hi")),
                                json.createObjectNode(),
                                Duration.ofMillis(400)));
        assertThat(result.error().code()).as("%s", result).isEqualTo(ExecutionError.TIMEOUT);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMinutes(2));
    }

    @Test
    void anInterruptCancelsTheCallAndThrows() throws Exception {
        openAi.delay(Duration.ofMinutes(10));
        ExecutorService caller = Executors.newSingleThreadExecutor();
        Future<Object> run =
                caller.submit(
                        () -> {
                            try {
                                return executor.execute(request(spec("Hi"), "{}"));
                            } catch (InterruptedException e) {
                                return e;
                            }
                        });
        assertThat(openAi.awaitFirstRequest(Duration.ofMinutes(2))).isTrue();
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
    void anthropicModelsAreCalledInTheirOwnWireFormat() throws Exception {
        try (AnthropicStandIn anthropic = new AnthropicStandIn().reply("Un renard saute.", 21, 7)) {
            LlmSpec spec =
                    new LlmSpec(
                            LlmSpec.ANTHROPIC,
                            anthropic.baseUrl(),
                            "claude-test",
                            "${env:OPENAI_API_KEY}",
                            "You translate to {{input.lang}}.",
                            "Translate: {{input.text}}",
                            false,
                            null,
                            null);
            assertThat(executor.validate(agent(spec))).isEmpty();

            ExecutionResult result =
                    executor.execute(
                            request(spec, "{\"text\": \"A fox jumps.\", \"lang\": \"French\"}"));

            assertThat(result.succeeded()).as("%s", result).isTrue();
            assertThat(result.output())
                    .isEqualTo(
                            json.readTree(
                                    """
                    {"text": "Un renard saute.",
                     "usage": {"input_tokens": 21, "output_tokens": 7, "total_tokens": 28},
                     "model": "claude-stand-in"}"""));
            AnthropicStandIn.Received got = anthropic.received().get(0);
            assertThat(got.path()).isEqualTo("/v1/messages");
            assertThat(got.apiKey()).isEqualTo(KEY);
            assertThat(got.version()).isNotBlank();
            assertThat(got.body().path("model").asText()).isEqualTo("claude-test");
            assertThat(got.body().path("max_tokens").asInt())
                    .as("required by Anthropic")
                    .isEqualTo(LlmSpec.ANTHROPIC_DEFAULT_MAX_TOKENS);
            assertThat(got.body().path("system").toString()).contains("You translate to French.");
            assertThat(got.body().path("messages").get(0).toString())
                    .contains("Translate: A fox jumps.");

            ExecutionResult failed =
                    executor.execute(request(spec, "{\"text\": \"x\", \"lang\": \"y\"}"));
            assertThat(failed.succeeded()).isTrue();
            anthropic.fail(529);
            ExecutionResult overloaded =
                    executor.execute(request(spec, "{\"text\": \"x\", \"lang\": \"y\"}"));
            assertThat(overloaded.error().code()).isEqualTo(ExecutionError.AGENT_ERROR);
            assertThat(overloaded.error().message()).contains("529").doesNotContain(KEY);
        }
    }

    @Test
    void validationRejectsOtherProviders() {
        LlmSpec other =
                new LlmSpec(
                        "cohere",
                        LlmSpec.DEFAULT_BASE_URL,
                        "command",
                        null,
                        null,
                        "Hi",
                        false,
                        null,
                        null);
        assertThat(executor.validate(agent(other)))
                .singleElement()
                .asString()
                .startsWith("spec.llm.provider:");
        assertThat(
                        executor.validate(
                                AgentDefinition.withDefaults("x", LlmExecutor.KIND, null, "test")))
                .singleElement()
                .asString()
                .startsWith("spec.llm:");
    }

    private LlmSpec spec(String prompt) {
        return LlmSpec.openAi(openAi.baseUrl(), "test-model", "${env:OPENAI_API_KEY}", prompt);
    }

    private static AgentDefinition agent(LlmSpec spec) {
        return AgentDefinition.withDefaults(
                "llm-agent", LlmExecutor.KIND, null, null, spec, "test");
    }

    private ExecutionRequest request(LlmSpec spec, String input) throws Exception {
        return new ExecutionRequest(
                UUID.randomUUID(),
                1,
                UUID.randomUUID(),
                agent(spec),
                json.readTree(input),
                Duration.ofSeconds(60));
    }
}
