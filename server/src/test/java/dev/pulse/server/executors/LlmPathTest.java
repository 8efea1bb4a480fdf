package dev.pulse.server.executors;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.executors.standins.AnthropicStandIn;
import dev.pulse.executors.standins.OpenAiStandIn;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The LLM executor through the whole path, against loopback stand-ins speaking OpenAI's and
 * Anthropic's wire formats.
 */
class LlmPathTest {

    private static final OpenAiStandIn[] standIns = new OpenAiStandIn[3];
    private static AnthropicStandIn claude;
    private static WholePath path;

    @BeforeAll
    static void start() throws Exception {
        OpenAiStandIn answering = new OpenAiStandIn().reply("A short summary.").usage(12, 5);
        OpenAiStandIn failing =
                new OpenAiStandIn()
                        .fail(500, "{\"error\": {\"message\": \"the model is overloaded\"}}");
        OpenAiStandIn slow = new OpenAiStandIn().delay(Duration.ofSeconds(90));
        standIns[0] = answering;
        standIns[1] = failing;
        standIns[2] = slow;
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        claude = new AnthropicStandIn().reply("Claude's summary.", 30, 9);
        path = new WholePath(Map.of("STAND_IN_KEY", "sk-stand-in-secret-1234"));
        path.agent(
                "llm-claude",
                "{\"executor\": \"llm\", \"llm\": {\"provider\": \"anthropic\", \"base_url\": \""
                        + claude.baseUrl()
                        + "\", \"model\": \"claude-stand-in\", \"api_key\": \"${env:STAND_IN_KEY}\","
                        + " \"prompt\": \"Summarise: {{input.text}}\"}}");
        // Only the slow agent's timeout is short (its stand-in answers long after it); the others
        // get
        // all the time a busy machine may need.
        agent("llm-ok", answering.baseUrl(), false, "60s");
        agent("llm-json", answering.baseUrl(), true, "60s");
        agent("llm-failing", failing.baseUrl(), false, "60s");
        agent("llm-slow", slow.baseUrl(), false, "2s");
        agent("llm-gone", "http://127.0.0.1:" + closedPort + "/v1", false, "60s");
    }

    @AfterAll
    static void stop() {
        path.close();
        for (OpenAiStandIn standIn : standIns) {
            standIn.close();
        }
        claude.close();
    }

    @Test
    void eachOutcomeIsStoredAndCalledBackAndTokensAreCounted() throws Exception {
        String ok = path.enqueue("llm-ok", "{\"text\": \"a very long article\"}");
        String json = path.enqueue("llm-json", "{\"text\": \"x\"}");
        String failing = path.enqueue("llm-failing", "{\"text\": \"x\"}");
        String slow = path.enqueue("llm-slow", "{\"text\": \"x\"}");
        String gone = path.enqueue("llm-gone", "{\"text\": \"x\"}");
        String anthropic = path.enqueue("llm-claude", "{\"text\": \"x\"}");
        Map<String, WholePath.Ended> ended =
                path.awaitAll(List.of(ok, json, failing, slow, gone, anthropic));

        assertThat(ended.get(ok).state()).isEqualTo("succeeded");
        assertThat(ended.get(ok).task().path("result").path("text").asText())
                .isEqualTo("A short summary.");
        assertThat(ended.get(ok).task().path("result").path("usage").path("input_tokens").asInt())
                .isEqualTo(12);
        assertThat(
                        ended.get(ok)
                                .callback()
                                .path("data")
                                .path("result")
                                .path("usage")
                                .path("output_tokens")
                                .asInt())
                .isEqualTo(5);
        assertThat(standIns[0].received())
                .anySatisfy(
                        r -> {
                            assertThat(r.authorization())
                                    .isEqualTo("Bearer sk-stand-in-secret-1234");
                            assertThat(r.body().toString())
                                    .contains("Summarise: a very long article");
                        });
        assertThat(
                        ended.get(anthropic)
                                .callback()
                                .path("data")
                                .path("result")
                                .path("text")
                                .asText())
                .isEqualTo("Claude's summary.");
        assertThat(
                        ended.get(anthropic)
                                .task()
                                .path("result")
                                .path("usage")
                                .path("total_tokens")
                                .asInt())
                .isEqualTo(39);
        assertThat(claude.received().get(0).apiKey()).isEqualTo("sk-stand-in-secret-1234");
        String metrics = path.pulse.get("/metrics").body();
        assertThat(metrics)
                .containsPattern(
                        "pulse_llm_tokens_total\\{[^}]*agent=\"llm-claude\"[^}]*kind=\"output\"[^}]*} 9\\.0");
        assertThat(metrics)
                .containsPattern(
                        "pulse_llm_tokens_total\\{[^}]*agent=\"llm-ok\"[^}]*kind=\"input\"[^}]*} 12\\.0");

        assertThat(ended.get(json).errorCode()).isEqualTo("invalid_output");
        assertThat(ended.get(failing).errorCode()).isEqualTo("agent_error");
        assertThat(ended.get(failing).errorMessage()).contains("500");
        assertThat(ended.get(slow).errorCode()).isEqualTo("timeout");
        assertThat(ended.get(gone).state()).isEqualTo("failed");
        WholePath.assertFailedAndCalledBack(ended, List.of(json, failing, slow, gone));
        for (String failed : List.of(json, failing, slow, gone)) {
            assertThat(ended.get(failed).task().toString())
                    .doesNotContain("sk-stand-in-secret-1234");
        }
    }

    private static void agent(String name, String baseUrl, boolean jsonOutput, String timeout) {
        path.agent(
                name,
                "{\"executor\": \"llm\", \"timeout\": \""
                        + timeout
                        + "\", \"llm\": {\"provider\": \"openai\", \"base_url\": \""
                        + baseUrl
                        + "\", \"model\": \"stand-in-model\", \"api_key\": \"${env:STAND_IN_KEY}\", \"system\": \"Be brief.\","
                        + " \"prompt\": \"Summarise: {{input.text}}\", \"json\": "
                        + jsonOutput
                        + "}}");
    }
}
