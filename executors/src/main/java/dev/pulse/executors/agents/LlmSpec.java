package dev.pulse.executors.agents;

import java.util.Objects;

/**
 * Settings of the {@code llm} executor: an OpenAI-compatible chat completions API at {@code
 * baseUrl} (OpenAI itself, or Ollama, vLLM and the like), the {@code model}, an optional {@code
 * system} message and the {@code prompt} template, in which {@code {{input.path}}} is replaced by
 * that field of the task input and {@code {{input}}} by the whole input as JSON. {@code apiKey}
 * (and {@code baseUrl}) may reference secrets as {@code ${env:NAME}}, resolved only when the model
 * is called. With {@code json} the model's reply must be JSON and becomes the result's {@code
 * output}.
 */
public record LlmSpec(
        String provider,
        String baseUrl,
        String model,
        String apiKey,
        String system,
        String prompt,
        boolean json,
        Double temperature,
        Integer maxTokens) {

    public static final String OPENAI = "openai";
    public static final String DEFAULT_BASE_URL = "https://api.openai.com/v1";
    public static final String ANTHROPIC = "anthropic";
    public static final String ANTHROPIC_BASE_URL = "https://api.anthropic.com/v1";

    /** Anthropic's API requires max_tokens; this is sent when the agent sets none. */
    public static final int ANTHROPIC_DEFAULT_MAX_TOKENS = 1024;

    public LlmSpec {
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(baseUrl, "baseUrl");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(prompt, "prompt");
    }

    /**
     * An OpenAI-compatible model at {@code baseUrl} with no system message, plain text replies and
     * default sampling.
     */
    public static LlmSpec openAi(String baseUrl, String model, String apiKey, String prompt) {
        return new LlmSpec(OPENAI, baseUrl, model, apiKey, null, prompt, false, null, null);
    }

    public LlmSpec withSystem(String system) {
        return new LlmSpec(
                provider, baseUrl, model, apiKey, system, prompt, json, temperature, maxTokens);
    }

    public LlmSpec withJson(boolean json) {
        return new LlmSpec(
                provider, baseUrl, model, apiKey, system, prompt, json, temperature, maxTokens);
    }

    public LlmSpec withSampling(Double temperature, Integer maxTokens) {
        return new LlmSpec(
                provider, baseUrl, model, apiKey, system, prompt, json, temperature, maxTokens);
    }

    @Override
    public String toString() {
        return "LlmSpec[provider="
                + provider
                + ", baseUrl="
                + baseUrl
                + ", model="
                + model
                + ", apiKey="
                + (apiKey == null ? "none" : "set")
                + ", json="
                + json
                + ", temperature="
                + temperature
                + ", maxTokens="
                + maxTokens
                + "]";
    }
}
