package dev.pulse.executors.llm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.agents.LlmSpec;

/**
 * What a run of an {@code llm} agent is expected to use before it is sent, for {@code
 * tokens_per_minute} admission: the rendered system message and prompt at one token per {@value
 * #CHARS_PER_TOKEN} characters (rounded up), plus the most the reply may use ({@code
 * spec.llm.max_tokens}; for Anthropic, which always sends one, its default when none is set). An
 * estimate, not a tokenizer's count: the provider's reported usage replaces it once the run ends.
 */
public final class TokenEstimate {

    /** The usual ratio for English text with the providers' tokenizers. */
    public static final int CHARS_PER_TOKEN = 4;

    private TokenEstimate() {}

    /** The estimated tokens of one run of {@code spec} on {@code input}. */
    public static long of(LlmSpec spec, JsonNode input, ObjectMapper json) {
        long chars = chars(spec.prompt(), input, json);
        if (spec.system() != null && !spec.system().isBlank()) {
            chars += chars(spec.system(), input, json);
        }
        long reply =
                spec.maxTokens() != null
                        ? spec.maxTokens()
                        : LlmSpec.ANTHROPIC.equals(spec.provider())
                                ? LlmSpec.ANTHROPIC_DEFAULT_MAX_TOKENS
                                : 0;
        return (chars + CHARS_PER_TOKEN - 1) / CHARS_PER_TOKEN + reply;
    }

    private static long chars(String template, JsonNode input, ObjectMapper json) {
        try {
            return PromptTemplate.render(template, input, json).length();
        } catch (PromptTemplate.MissingField | IllegalArgumentException e) {
            // The run will fail without calling the model; the template is estimate enough.
            return template.length();
        }
    }
}
