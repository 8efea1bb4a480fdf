package dev.pulse.executors.serverless;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pulse.executors.CompletionReports;
import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.Executor;
import dev.pulse.executors.ExecutorContract;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.ServerlessSpec;
import dev.pulse.executors.standins.ServerlessEndpointStandIn;
import dev.pulse.executors.standins.ServerlessEndpointStandIn.Answer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import okhttp3.OkHttpClient;

/**
 * The serverless executor in sync mode, against a stand-in endpoint per attempt, through the
 * executor contract.
 */
class ServerlessContractTest extends ExecutorContract
        implements ExecutorContract.ReadsTextOutput, ExecutorContract.ResolvesSecrets {

    @Override
    protected Fixture start(Function<String, String> environment) {
        OkHttpClient http = new OkHttpClient();
        ServerlessExecutor executor =
                new ServerlessExecutor(http, JSON, environment, CompletionReports.NONE);
        List<ServerlessEndpointStandIn> endpoints = new ArrayList<>();
        return new Fixture() {
            @Override
            public Executor executor() {
                return executor;
            }

            @Override
            public Success succeeding(JsonNode output) throws Exception {
                return new Success(
                        request(endpoint(Answer.json(200, output.toString())), AMPLE), output);
            }

            @Override
            public ExecutionRequest failing(String words) throws Exception {
                return request(endpoint(Answer.json(500, "{\"error\": \"" + words + "\"}")), AMPLE);
            }

            @Override
            public ExecutionRequest malformed() throws Exception {
                return request(
                        endpoint(
                                new Answer(
                                        200,
                                        Map.of("Content-Type", "text/html"),
                                        "<p>done</p>",
                                        Duration.ZERO)),
                        AMPLE);
            }

            @Override
            public Hanging hanging(Duration timeout) throws Exception {
                ServerlessEndpointStandIn endpoint =
                        standIn(Answer.json(200, "{}").after(HANGS_FOR));
                return new Hanging(
                        request(ServerlessSpec.sync(endpoint.url("/slow")), timeout),
                        httpCall(endpoint::awaitFirstRequest, http));
            }

            @Override
            public ExecutionRequest leakingSecret() throws Exception {
                ServerlessEndpointStandIn endpoint =
                        standIn(
                                Answer.json(
                                        401,
                                        "{\"error\": \"bad token in Bearer "
                                                + environment.apply(SECRET_VARIABLE)
                                                + "\"}"));
                return request(
                        ServerlessSpec.sync(endpoint.url("/"))
                                .withAuth(
                                        new ServerlessSpec.BearerAuth(
                                                "${env:" + SECRET_VARIABLE + "}")),
                        AMPLE);
            }

            @Override
            public Missing missingAgentPrerequisite() throws Exception {
                return new Missing(
                        request(
                                endpoint(Answer.json(200, "{}"))
                                        .withAuth(
                                                new ServerlessSpec.BearerAuth(
                                                        "${env:" + UNSET_VARIABLE + "}")),
                                AMPLE),
                        UNSET_VARIABLE);
            }

            private ServerlessSpec endpoint(Answer answer) throws Exception {
                return ServerlessSpec.sync(standIn(answer).url("/run")).withRetries(0);
            }

            private ServerlessEndpointStandIn standIn(Answer answer) throws Exception {
                ServerlessEndpointStandIn endpoint = new ServerlessEndpointStandIn().answer(answer);
                endpoints.add(endpoint);
                return endpoint;
            }

            @Override
            public void close() {
                executor.close();
                endpoints.forEach(ServerlessEndpointStandIn::close);
            }
        };
    }

    private static ExecutionRequest request(ServerlessSpec spec, Duration timeout) {
        AgentDefinition agent =
                AgentDefinition.withDefaults(
                        "fn", ServerlessExecutor.KIND, null, spec, null, "contract");
        return ExecutorContract.request(
                agent, JSON.createObjectNode().put("text", "a b c"), timeout);
    }
}
