package dev.pulse.executors.agents;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pulse.executors.llm.PromptTemplate;
import java.util.List;
import java.util.Set;

/** Reads and checks the {@code spec.llm} block of an agent file. */
final class LlmSpecParser {

    private static final String AT = "spec.llm";
    private static final Set<String> KEYS =
            Set.of(
                    "provider",
                    "base_url",
                    "model",
                    "api_key",
                    "system",
                    "prompt",
                    "json",
                    "temperature",
                    "max_tokens");
    static final int MAX_TOKENS = 10_000_000;

    private LlmSpecParser() {}

    static LlmSpec parse(JsonNode node, List<String> problems) {
        if (!node.isObject()) {
            problems.add(
                    AT
                            + ": is required for executor llm and must be a mapping with model and prompt,"
                            + " e.g. {provider: openai, model: gpt-4o-mini, api_key: \"${env:OPENAI_API_KEY}\", prompt: \"…\"}");
            return null;
        }
        int before = problems.size();
        AgentFileLoader.unknownKeys(node, KEYS, AT + ".", problems);

        String provider = LlmSpec.OPENAI;
        if (node.has("provider")) {
            JsonNode p = node.get("provider");
            if (p.isTextual()
                    && (p.asText().equals(LlmSpec.OPENAI)
                            || p.asText().equals(LlmSpec.ANTHROPIC))) {
                provider = p.asText();
            } else {
                problems.add(
                        AT
                                + ".provider: must be openai (any OpenAI-compatible chat completions API, including"
                                + " Ollama and vLLM through base_url) or anthropic"
                                + (p.isTextual() ? "; '" + p.asText() + "' is not supported" : ""));
            }
        }
        String baseUrl =
                provider.equals(LlmSpec.ANTHROPIC)
                        ? LlmSpec.ANTHROPIC_BASE_URL
                        : LlmSpec.DEFAULT_BASE_URL;
        if (node.has("base_url")) {
            baseUrl = SpecValues.string(node, "base_url", AT + ".base_url", true, problems);
            if (baseUrl != null) {
                String problem = SpecValues.httpUrlProblem(baseUrl);
                if (problem != null) {
                    problems.add(
                            AT
                                    + ".base_url: "
                                    + problem.replace(
                                            "https://agents.example.com/run",
                                            "http://localhost:11434/v1"));
                }
            }
        }
        String model = SpecValues.string(node, "model", AT + ".model", true, problems);
        String apiKey = SpecValues.string(node, "api_key", AT + ".api_key", false, problems);
        String system = template(node, "system", false, problems);
        String prompt = template(node, "prompt", true, problems);

        boolean json = false;
        if (node.has("json")) {
            if (!node.get("json").isBoolean()) {
                problems.add(AT + ".json: must be true or false");
            } else {
                json = node.get("json").asBoolean();
            }
        }
        Double temperature = null;
        if (node.has("temperature")) {
            JsonNode t = node.get("temperature");
            if (!t.isNumber() || t.asDouble() < 0 || t.asDouble() > 2) {
                problems.add(AT + ".temperature: must be a number from 0 to 2");
            } else {
                temperature = t.asDouble();
            }
        }
        Integer maxTokens = null;
        if (node.has("max_tokens")) {
            JsonNode t = node.get("max_tokens");
            if (!t.isIntegralNumber() || t.asLong() < 1 || t.asLong() > MAX_TOKENS) {
                problems.add(AT + ".max_tokens: must be an integer from 1 to " + MAX_TOKENS);
            } else {
                maxTokens = t.asInt();
            }
        }
        if (problems.size() > before) {
            return null;
        }
        return new LlmSpec(
                provider, baseUrl, model, apiKey, system, prompt, json, temperature, maxTokens);
    }

    private static String template(
            JsonNode node, String key, boolean required, List<String> problems) {
        String path = AT + "." + key;
        JsonNode value = node.path(key);
        if (value.isMissingNode() || value.isNull()) {
            if (required) {
                problems.add(path + ": is required, e.g. \"Summarise: {{input.text}}\"");
            }
            return null;
        }
        if (!value.isTextual() || (required && value.asText().isBlank())) {
            problems.add(path + ": must be " + (required ? "a non-empty string" : "a string"));
            return null;
        }
        PromptTemplate.problems(value.asText()).forEach(p -> problems.add(path + ": " + p));
        return value.asText();
    }
}
