package dev.pulse.executors.llm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.agents.LlmSpec;
import org.junit.jupiter.api.Test;

class TokenEstimateTest {

    private static final ObjectMapper json = new ObjectMapper();

    @Test
    void theRenderedPromptAndSystemAtFourCharactersATokenPlusTheMostTheReplyMayUse()
            throws Exception {
        LlmSpec spec =
                LlmSpec.openAi("http://127.0.0.1/v1", "m", null, "Summarise: {{input.text}}")
                        .withSystem("Be brief.") // 9 characters
                        .withSampling(null, 100);
        // "Summarise: hello" is 16 characters: 25 in all, 7 tokens rounded up, and 100 for the
        // reply
        assertThat(TokenEstimate.of(spec, json.readTree("{\"text\": \"hello\"}"), json))
                .isEqualTo(107);
    }

    @Test
    void withoutMaxTokensOpenAiCountsThePromptAloneAndAnthropicItsDefault() throws Exception {
        LlmSpec openAi = LlmSpec.openAi("http://127.0.0.1/v1", "m", null, "12345678");
        assertThat(TokenEstimate.of(openAi, json.readTree("{}"), json)).isEqualTo(2);
        LlmSpec anthropic =
                new LlmSpec(
                        LlmSpec.ANTHROPIC,
                        LlmSpec.ANTHROPIC_BASE_URL,
                        "m",
                        null,
                        null,
                        "12345678",
                        false,
                        null,
                        null);
        assertThat(TokenEstimate.of(anthropic, json.readTree("{}"), json))
                .isEqualTo(2 + LlmSpec.ANTHROPIC_DEFAULT_MAX_TOKENS);
    }

    @Test
    void aPromptThatCannotBeRenderedIsEstimatedFromItsTemplate() throws Exception {
        LlmSpec spec = LlmSpec.openAi("http://127.0.0.1/v1", "m", null, "{{input.missing}}");
        assertThat(TokenEstimate.of(spec, json.readTree("{}"), json)).isEqualTo(5);
    }
}
