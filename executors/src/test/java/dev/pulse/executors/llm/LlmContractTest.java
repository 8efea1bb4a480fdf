package dev.pulse.executors.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.Executor;
import dev.pulse.executors.ExecutorContract;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.LlmSpec;
import dev.pulse.executors.standins.OpenAiStandIn;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import okhttp3.OkHttpClient;

/**
 * The llm executor with {@code json: true} (the reply is the agent's output), against an
 * OpenAI-compatible stand-in per attempt, through the executor contract.
 */
class LlmContractTest extends ExecutorContract
        implements ExecutorContract.ReadsTextOutput, ExecutorContract.ResolvesSecrets {

    @Override
    protected Fixture start(Function<String, String> environment) {
        OkHttpClient http = new OkHttpClient();
        LlmExecutor executor = new LlmExecutor(http, JSON, environment);
        List<OpenAiStandIn> models = new ArrayList<>();
        return new Fixture() {
            @Override
            public Executor executor() {
                return executor;
            }

            @Override
            public Success succeeding(JsonNode output) throws Exception {
                OpenAiStandIn model =
                        standIn().reply(output.toString()).usage(12, 5).model("contract-model");
                ObjectNode expected = JSON.createObjectNode();
                expected.set("output", output);
                expected.set(
                        "usage",
                        JSON.readTree(
                                "{\"input_tokens\": 12, \"output_tokens\": 5, \"total_tokens\": 17}"));
                expected.put("model", "contract-model");
                return new Success(
                        request(spec(model, "${env:" + SECRET_VARIABLE + "}"), AMPLE), expected);
            }

            @Override
            public ExecutionRequest failing(String words) throws Exception {
                OpenAiStandIn model =
                        standIn().fail(500, "{\"error\": {\"message\": \"" + words + "\"}}");
                return request(spec(model, "${env:" + SECRET_VARIABLE + "}"), AMPLE);
            }

            @Override
            public ExecutionRequest malformed() throws Exception {
                return request(spec(standIn().reply("Sure! It is positive."), null), AMPLE);
            }

            @Override
            public Hanging hanging(Duration timeout) throws Exception {
                OpenAiStandIn model = standIn().delay(HANGS_FOR);
                return new Hanging(
                        request(spec(model, null), timeout),
                        httpCall(model::awaitFirstRequest, http));
            }

            @Override
            public ExecutionRequest leakingSecret() throws Exception {
                OpenAiStandIn model =
                        standIn()
                                .fail(
                                        401,
                                        "{\"error\": {\"message\": \"Incorrect API key provided: "
                                                + environment.apply(SECRET_VARIABLE)
                                                + "\"}}");
                return request(spec(model, "${env:" + SECRET_VARIABLE + "}"), AMPLE);
            }

            @Override
            public Missing missingAgentPrerequisite() throws Exception {
                return new Missing(
                        request(spec(standIn(), "${env:" + UNSET_VARIABLE + "}"), AMPLE),
                        UNSET_VARIABLE);
            }

            private OpenAiStandIn standIn() throws Exception {
                OpenAiStandIn model = new OpenAiStandIn();
                models.add(model);
                return model;
            }

            @Override
            public void close() {
                executor.close();
                models.forEach(OpenAiStandIn::close);
            }
        };
    }

    private static LlmSpec spec(OpenAiStandIn model, String apiKey) {
        return LlmSpec.openAi(model.baseUrl(), "contract-model", apiKey, "Classify: {{input.text}}")
                .withJson(true);
    }

    private static ExecutionRequest request(LlmSpec spec, Duration timeout) {
        AgentDefinition agent =
                AgentDefinition.withDefaults(
                        "llm-agent", LlmExecutor.KIND, null, null, spec, "contract");
        return ExecutorContract.request(
                agent, JSON.createObjectNode().put("text", "great"), timeout);
    }
}
