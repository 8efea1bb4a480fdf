package dev.pulse.executors.llm;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.HttpException;
import dev.langchain4j.model.anthropic.AnthropicChatModel;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.output.TokenUsage;
import dev.pulse.executors.EnvReferences;
import dev.pulse.executors.ExecutionError;
import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.ExecutionResult;
import dev.pulse.executors.Executor;
import dev.pulse.executors.Redactor;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.LlmSpec;
import dev.pulse.executors.http.AgentHttp;
import dev.pulse.executors.http.EgressRefusedException;
import dev.pulse.executors.http.PolicyEnforcement;
import dev.pulse.executors.http.ProviderBackoff;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;

/**
 * The {@code llm} executor: renders the agent's prompt template with the task input, sends it
 * (after the optional system message) to an OpenAI-compatible chat completions API through
 * LangChain4j's {@link OpenAiChatModel}, or to Anthropic's messages API through its {@link
 * AnthropicChatModel}, and returns {@code {"text", "usage", "model"}}, or with {@code json: true}
 * the reply parsed as JSON: {@code {"output", "usage", "model"}}.
 *
 * <p>HTTP goes through Pulse's shared OkHttp client, bounded by the attempt's timeout; an interrupt
 * aborts the request in flight. LangChain4j's own retries are off: a failed call fails the attempt
 * ({@code agent_error} with the HTTP status), and Pulse's attempt retries take over. The API key is
 * resolved per call and redacted from everything reported.
 */
public final class LlmExecutor implements Executor, AutoCloseable {

    public static final String KIND = "llm";
    static final int EXCERPT_CHARS = 300;
    static final int MAX_LOG_CHARS = 64 << 10;
    private static final long GRACE_NANOS = TimeUnit.SECONDS.toNanos(2);
    private static final Pattern FENCED =
            Pattern.compile("\\A\\s*```[A-Za-z]*\\s*\\n(.*?)\\n?```\\s*\\z", Pattern.DOTALL);

    private final OkHttpClient http;
    private final ObjectMapper json;
    private final ObjectReader reader;
    private final Function<String, String> environment;
    private final Clock clock;
    private final ExecutorService threads = AgentHttp.callThreads("pulse-llm-call");

    /**
     * @param http shared client; its connection pool is reused, its timeouts are replaced by the
     *     attempt's timeout
     * @param environment where {@code ${env:NAME}} references are looked up (normally {@code
     *     System::getenv})
     */
    public LlmExecutor(OkHttpClient http, ObjectMapper json, Function<String, String> environment) {
        this(http, json, environment, Clock.systemUTC());
    }

    public LlmExecutor(
            OkHttpClient http,
            ObjectMapper json,
            Function<String, String> environment,
            Clock clock) {
        this.clock = clock;
        this.http = AgentHttp.client(http);
        this.json = json;
        this.reader = json.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        this.environment = environment;
    }

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public List<String> validate(AgentDefinition agent) {
        LlmSpec spec = agent.llm();
        if (spec == null) {
            return List.of("spec.llm: is required for executor llm");
        }
        List<String> problems = new ArrayList<>();
        if (!LlmSpec.OPENAI.equals(spec.provider()) && !LlmSpec.ANTHROPIC.equals(spec.provider())) {
            problems.add(
                    "spec.llm.provider: must be openai or anthropic; '"
                            + spec.provider()
                            + "' is not supported");
        }
        PromptTemplate.problems(spec.prompt()).forEach(p -> problems.add("spec.llm.prompt: " + p));
        if (spec.system() != null) {
            PromptTemplate.problems(spec.system())
                    .forEach(p -> problems.add("spec.llm.system: " + p));
        }
        return problems;
    }

    @Override
    public ExecutionResult execute(ExecutionRequest request) throws InterruptedException {
        LlmSpec spec = request.agent().llm();
        if (spec == null || !validate(request.agent()).isEmpty()) {
            return ExecutionResult.failure(
                    ExecutionError.EXECUTOR_UNAVAILABLE,
                    "agent '" + request.agent().name() + "' has no usable spec.llm settings");
        }
        long deadline = System.nanoTime() + request.timeout().toNanos();
        EnvReferences.Resolver resolver = new EnvReferences.Resolver(environment);
        String apiKey;
        String baseUrl;
        try {
            apiKey = resolver.resolve(spec.apiKey(), "spec.llm.api_key");
            baseUrl = resolver.resolve(spec.baseUrl(), "spec.llm.base_url");
        } catch (IllegalStateException e) {
            return ExecutionResult.failure(ExecutionError.EXECUTOR_UNAVAILABLE, e.getMessage());
        }
        List<String> secrets = new ArrayList<>(resolver.substituted());
        if (apiKey != null) {
            secrets.add(apiKey);
        }
        Redactor redactor = Redactor.of(secrets);
        HttpUrl url = HttpUrl.parse(baseUrl);
        if (url == null) {
            return ExecutionResult.failure(
                    ExecutionError.EXECUTOR_UNAVAILABLE,
                    "spec.llm.base_url: does not resolve to an absolute http(s) URL");
        }

        List<ChatMessage> messages = new ArrayList<>();
        try {
            if (spec.system() != null && !spec.system().isBlank()) {
                messages.add(
                        SystemMessage.from(
                                PromptTemplate.render(spec.system(), request.input(), json)));
            }
            messages.add(
                    UserMessage.from(PromptTemplate.render(spec.prompt(), request.input(), json)));
        } catch (PromptTemplate.MissingField e) {
            return ExecutionResult.failure(
                    ExecutionError.AGENT_ERROR,
                    redactor.scrub("cannot render the prompt: " + e.getMessage()));
        }

        OkHttpTransport transport = new OkHttpTransport(http, deadline);
        ChatModel model;
        try {
            model = model(spec, url, apiKey, transport, request.timeout());
        } catch (RuntimeException e) {
            return ExecutionResult.failure(
                    ExecutionError.EXECUTOR_UNAVAILABLE,
                    redactor.scrub("cannot configure the model client: " + describe(e)));
        }

        ChatRequest chat = ChatRequest.builder().messages(messages).build();
        Future<ChatResponse> pending = threads.submit(() -> model.chat(chat));
        ChatResponse response;
        try {
            response =
                    pending.get(
                            Math.max(0, deadline - System.nanoTime()) + GRACE_NANOS,
                            TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            transport.cancel();
            pending.cancel(true);
            throw e;
        } catch (TimeoutException e) {
            transport.cancel();
            pending.cancel(true);
            return timedOut(request);
        } catch (ExecutionException e) {
            return failed(e.getCause(), request, redactor);
        }
        return result(spec, response, redactor);
    }

    /**
     * The provider's LangChain4j model, talking through Pulse's HTTP client, with LangChain4j's
     * retries and logging off.
     */
    private static ChatModel model(
            LlmSpec spec, HttpUrl url, String apiKey, OkHttpTransport transport, Duration timeout) {
        // Without a key (Ollama, vLLM without authentication) no credentials header is sent.
        String key = apiKey == null || apiKey.isBlank() ? null : apiKey;
        if (LlmSpec.ANTHROPIC.equals(spec.provider())) {
            return AnthropicChatModel.builder()
                    .httpClientBuilder(transport)
                    .baseUrl(url.toString())
                    .apiKey(key)
                    .modelName(spec.model())
                    .temperature(spec.temperature())
                    .maxTokens(
                            spec.maxTokens() == null
                                    ? LlmSpec.ANTHROPIC_DEFAULT_MAX_TOKENS
                                    : spec.maxTokens())
                    .timeout(timeout)
                    .maxRetries(0)
                    .logRequests(false)
                    .logResponses(false)
                    .build();
        }
        return OpenAiChatModel.builder()
                .httpClientBuilder(transport)
                .baseUrl(url.toString())
                .apiKey(key)
                .modelName(spec.model())
                .temperature(spec.temperature())
                .maxTokens(spec.maxTokens())
                .timeout(timeout)
                .maxRetries(0)
                .logRequests(false)
                .logResponses(false)
                .build();
    }

    private ExecutionResult result(LlmSpec spec, ChatResponse response, Redactor redactor) {
        AiMessage message = response.aiMessage();
        String text = message == null ? null : message.text();
        if (text == null) {
            return ExecutionResult.failure(
                    ExecutionError.INVALID_OUTPUT,
                    "the model's reply has no text (finish reason "
                            + response.finishReason()
                            + ")");
        }
        ObjectNode result = json.createObjectNode();
        if (spec.json()) {
            JsonNode parsed = parseJson(text);
            if (parsed == null) {
                return ExecutionResult.failure(
                        new ExecutionError(
                                ExecutionError.INVALID_OUTPUT,
                                redactor.scrub(
                                        "the model's reply is not JSON (spec.llm.json is true): "
                                                + AgentHttp.excerpt(text, EXCERPT_CHARS))),
                        redactor.scrub(
                                text.length() <= MAX_LOG_CHARS
                                        ? text
                                        : text.substring(0, MAX_LOG_CHARS)));
            }
            result.set("output", parsed);
        } else {
            result.put("text", text);
        }
        ObjectNode usage = result.putObject("usage");
        TokenUsage tokens = response.tokenUsage();
        Integer in = tokens == null ? null : tokens.inputTokenCount();
        Integer out = tokens == null ? null : tokens.outputTokenCount();
        Integer total = tokens == null ? null : tokens.totalTokenCount();
        if (total == null && in != null && out != null) {
            total = in + out;
        }
        usage.put("input_tokens", in);
        usage.put("output_tokens", out);
        usage.put("total_tokens", total);
        result.put("model", response.modelName() != null ? response.modelName() : spec.model());
        return ExecutionResult.success(result, null);
    }

    /**
     * The reply as JSON, also when the model wrapped it in a Markdown code fence; null if it is not
     * JSON.
     */
    private JsonNode parseJson(String text) {
        Matcher fenced = FENCED.matcher(text);
        String candidate = fenced.matches() ? fenced.group(1) : text;
        try {
            JsonNode node = reader.readTree(candidate);
            return node == null || node.isMissingNode() ? null : node;
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    private ExecutionResult failed(Throwable error, ExecutionRequest request, Redactor redactor) {
        HttpException http = find(error, HttpException.class);
        if (http != null) {
            int status = http.statusCode();
            Optional<Instant> hold =
                    http instanceof RefusedAnswer refused
                            ? ProviderBackoff.until(status, refused.headers(), clock.instant())
                            : Optional.empty();
            if (hold.isPresent()) {
                return ExecutionResult.throttled(
                        hold.get(),
                        redactor.scrub(
                                "the model endpoint answered HTTP "
                                        + status
                                        + " and asked to be left alone until "
                                        + hold.get()
                                        + ": "
                                        + AgentHttp.excerpt(http.getMessage(), EXCERPT_CHARS)));
            }
            String hint =
                    status == 401 || status == 403
                            ? " (check spec.llm.api_key and the secret it references)"
                            : status == 404 ? " (check spec.llm.base_url and spec.llm.model)" : "";
            return ExecutionResult.failure(
                    ExecutionError.AGENT_ERROR,
                    redactor.scrub(
                            "the model endpoint answered HTTP "
                                    + status
                                    + hint
                                    + ": "
                                    + AgentHttp.excerpt(http.getMessage(), EXCERPT_CHARS)));
        }
        if (find(error, dev.langchain4j.exception.TimeoutException.class) != null) {
            return timedOut(request);
        }
        if (find(error, JsonProcessingException.class) != null) {
            return ExecutionResult.failure(
                    ExecutionError.INVALID_OUTPUT,
                    redactor.scrub(
                            "the model endpoint's answer is not a chat completion: "
                                    + describe(find(error, JsonProcessingException.class))));
        }
        if (PolicyEnforcement.isRefusal(error)) {
            return ExecutionResult.failure(
                    ExecutionError.EXECUTOR_UNAVAILABLE,
                    describe(find(error, EgressRefusedException.class)));
        }
        IOException io = find(error, IOException.class);
        if (io != null) {
            return ExecutionResult.failure(
                    ExecutionError.AGENT_ERROR,
                    redactor.scrub(
                            "cannot reach the model endpoint (spec.llm.base_url "
                                    + request.agent().llm().baseUrl()
                                    + "): "
                                    + describe(io)));
        }
        return ExecutionResult.failure(
                ExecutionError.AGENT_ERROR,
                redactor.scrub("the model call failed: " + describe(error)));
    }

    private static ExecutionResult timedOut(ExecutionRequest request) {
        return ExecutionResult.failure(
                ExecutionError.TIMEOUT,
                "the model did not answer within the attempt's timeout of "
                        + request.timeout().toMillis()
                        + " ms; the request was abandoned");
    }

    private static <T extends Throwable> T find(Throwable error, Class<T> type) {
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }

    private static String describe(Throwable e) {
        return e.getClass().getSimpleName()
                + (e.getMessage() == null
                        ? ""
                        : ": " + AgentHttp.excerpt(e.getMessage(), EXCERPT_CHARS));
    }

    @Override
    public void close() {
        threads.shutdownNow();
    }
}
