package dev.pulse.executors.serverless;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.node.NullNode;
import dev.pulse.executors.CompletionReports;
import dev.pulse.executors.EnvReferences;
import dev.pulse.executors.ExecutionError;
import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.ExecutionResult;
import dev.pulse.executors.Executor;
import dev.pulse.executors.Redactor;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.ServerlessSpec;
import dev.pulse.executors.http.AgentHttp;
import dev.pulse.executors.http.PolicyEnforcement;
import dev.pulse.executors.http.ProviderBackoff;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import okhttp3.Call;
import okhttp3.Credentials;
import okhttp3.Headers;
import okhttp3.HttpUrl;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/**
 * The {@code serverless} executor: sends the task input as JSON to an HTTP endpoint (a function
 * URL, a webhook-style agent platform) and, in {@code sync} mode, takes the JSON response, or the
 * part of it at {@code spec.serverless.result}, as the result. In {@code async} mode the endpoint
 * only accepts the task (any 2xx, normally 202) and reports the result later itself, to the URL in
 * the {@code Pulse-Complete-Url} header with the {@code Pulse-Lease-Token} it was sent; the attempt
 * waits for that report (its lease renewed meanwhile) until the attempt's timeout.
 *
 * <p>A 429 or 503 that names a time ({@code Retry-After}, or the rate-limit headers {@link
 * ProviderBackoff} reads) ends the attempt as {@code throttled}: the agent is held on every node
 * until then and the task goes back to the queue without using an attempt. Within one attempt it
 * retries connection errors and other 5xx and 429 answers up to {@code spec.serverless.retries}
 * times, waiting as the endpoint's {@code Retry-After} asks (or with exponential backoff), but
 * never past the attempt's timeout. Other 4xx answers fail the attempt with {@code agent_error}.
 * Redirects are not followed. Credentials ({@code auth}, and every {@code ${env:…}} value) are
 * resolved per request and redacted from everything reported. The request carries {@code
 * Pulse-Task-Id} and {@code Pulse-Attempt} headers.
 */
public final class ServerlessExecutor implements Executor, AutoCloseable {

    public static final String KIND = "serverless";
    static final int EXCERPT_CHARS = 300;
    static final Duration MAX_BACKOFF = Duration.ofSeconds(10);
    private static final long GRACE_NANOS = TimeUnit.SECONDS.toNanos(2);
    private static final long SLACK_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final MediaType JSON = MediaType.get("application/json");

    private final OkHttpClient http;
    private final ObjectMapper json;
    private final ObjectReader reader;
    private final Function<String, String> environment;
    private final CompletionReports reports;
    private final Clock clock;
    private final Duration backoffBase;
    private final ExecutorService threads = AgentHttp.callThreads("pulse-serverless-call");

    /**
     * @param http shared client; its connection pool is reused, its timeouts are replaced by the
     *     attempt's timeout
     * @param environment where {@code ${env:NAME}} references are looked up (normally {@code
     *     System::getenv})
     * @param reports where asynchronous agents report their results, and how to wait for them
     */
    public ServerlessExecutor(
            OkHttpClient http,
            ObjectMapper json,
            Function<String, String> environment,
            CompletionReports reports) {
        this(http, json, environment, reports, Clock.systemUTC(), Duration.ofMillis(500));
    }

    ServerlessExecutor(
            OkHttpClient http,
            ObjectMapper json,
            Function<String, String> environment,
            CompletionReports reports,
            Clock clock,
            Duration backoffBase) {
        this.http = AgentHttp.client(http);
        this.json = json;
        this.reader = json.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        this.environment = environment;
        this.reports = reports;
        this.clock = clock;
        this.backoffBase = backoffBase;
    }

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public List<String> validate(AgentDefinition agent) {
        if (agent.serverless() == null) {
            return List.of("spec.serverless: is required for executor serverless");
        }
        return List.of();
    }

    @Override
    public ExecutionResult execute(ExecutionRequest request) throws InterruptedException {
        ServerlessSpec spec = request.agent().serverless();
        if (spec == null) {
            return ExecutionResult.failure(
                    ExecutionError.EXECUTOR_UNAVAILABLE,
                    "agent '" + request.agent().name() + "' has no spec.serverless settings");
        }
        URI reportTo = null;
        if (spec.mode() == ServerlessSpec.Mode.ASYNC) {
            reportTo = reports.url(request.taskId()).orElse(null);
            if (reportTo == null) {
                return ExecutionResult.failure(
                        ExecutionError.EXECUTOR_UNAVAILABLE,
                        "spec.serverless.mode async needs"
                                + " the address where the agent reports its result: set PULSE_PUBLIC_URL to this Pulse's API URL");
            }
        }
        EnvReferences.Resolver resolver = new EnvReferences.Resolver(environment);
        List<String> credentials = new ArrayList<>();
        Request httpRequest;
        try {
            httpRequest = buildRequest(request, spec, reportTo, resolver, credentials);
        } catch (IllegalStateException e) {
            return ExecutionResult.failure(ExecutionError.EXECUTOR_UNAVAILABLE, e.getMessage());
        }
        List<String> secrets = new ArrayList<>(resolver.substituted());
        secrets.addAll(credentials);
        return new Run(request, spec, httpRequest, Redactor.of(secrets)).run();
    }

    private Request buildRequest(
            ExecutionRequest request,
            ServerlessSpec spec,
            URI reportTo,
            EnvReferences.Resolver resolver,
            List<String> credentials) {
        HttpUrl url = HttpUrl.parse(resolver.resolve(spec.url(), "spec.serverless.url"));
        if (url == null) {
            throw new IllegalStateException(
                    "spec.serverless.url: does not resolve to an absolute http(s) URL");
        }
        byte[] body;
        try {
            body =
                    json.writeValueAsBytes(
                            request.input() == null ? NullNode.getInstance() : request.input());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(
                    "cannot serialise the task input: " + e.getOriginalMessage());
        }
        Request.Builder builder =
                new Request.Builder()
                        .url(url)
                        .method(spec.method(), RequestBody.create(body, JSON))
                        .header("Accept", "application/json")
                        .header("Pulse-Task-Id", request.taskId().toString())
                        .header("Pulse-Attempt", Integer.toString(request.attempt()));
        request.trace().asHeaders().forEach(builder::header);
        if (reportTo != null) {
            builder.header("Pulse-Complete-Url", reportTo.toString())
                    .header("Pulse-Lease-Token", request.leaseToken().toString());
        }
        spec.headers()
                .forEach(
                        (name, value) -> {
                            String path = "spec.serverless.headers." + name;
                            header(builder, name, resolver.resolve(value, path), path);
                        });
        ServerlessSpec.Auth auth = spec.auth();
        if (auth instanceof ServerlessSpec.BearerAuth bearer) {
            String token = resolver.resolve(bearer.token(), "spec.serverless.auth.bearer");
            credentials.add(token);
            header(builder, "Authorization", "Bearer " + token, "spec.serverless.auth.bearer");
        } else if (auth instanceof ServerlessSpec.HeaderAuth custom) {
            String value = resolver.resolve(custom.value(), "spec.serverless.auth.header.value");
            credentials.add(value);
            header(builder, custom.name(), value, "spec.serverless.auth.header.value");
        } else if (auth instanceof ServerlessSpec.BasicAuth basic) {
            String username =
                    resolver.resolve(basic.username(), "spec.serverless.auth.basic.username");
            String password =
                    resolver.resolve(basic.password(), "spec.serverless.auth.basic.password");
            String value = Credentials.basic(username, password, StandardCharsets.UTF_8);
            credentials.add(password);
            credentials.add(value.substring("Basic ".length()));
            header(builder, "Authorization", value, "spec.serverless.auth.basic");
        }
        return builder.build();
    }

    private static void header(Request.Builder builder, String name, String value, String path) {
        try {
            builder.header(name, value);
        } catch (IllegalArgumentException e) {
            // OkHttp's message quotes the value: never pass it on.
            throw new IllegalStateException(
                    path
                            + ": the value (after resolving ${env:…} references) is not a valid"
                            + " HTTP header value; use printable ASCII without line breaks");
        }
    }

    /** One attempt: up to 1 + retries requests, all within the attempt's timeout. */
    private final class Run {

        private final ExecutionRequest request;
        private final ServerlessSpec spec;
        private final Request httpRequest;
        private final Redactor redactor;
        private final long deadline;
        private final StringBuilder logs = new StringBuilder();

        Run(ExecutionRequest request, ServerlessSpec spec, Request httpRequest, Redactor redactor) {
            this.request = request;
            this.spec = spec;
            this.httpRequest = httpRequest;
            this.redactor = redactor;
            this.deadline = System.nanoTime() + request.timeout().toNanos();
        }

        ExecutionResult run() throws InterruptedException {
            for (int tryNo = 1; ; tryNo++) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return timedOut();
                }
                Outcome outcome = send(left);
                String reason;
                Duration retryAfter = null;
                if (outcome.timedOut()) {
                    return timedOut();
                } else if (outcome.error() != null) {
                    if (PolicyEnforcement.isRefusal(outcome.error())) {
                        return failure(
                                ExecutionError.EXECUTOR_UNAVAILABLE, describe(outcome.error()));
                    }
                    if (!(outcome.error() instanceof IOException)) {
                        return failure(
                                ExecutionError.AGENT_ERROR,
                                "the request failed: " + describe(outcome.error()));
                    }
                    reason = "cannot reach the endpoint: " + describe(outcome.error());
                } else if (outcome.status() >= 200 && outcome.status() < 300) {
                    return spec.mode() == ServerlessSpec.Mode.ASYNC
                            ? awaitReport(outcome)
                            : result(outcome);
                } else if (outcome.status() == 429 || outcome.status() >= 500) {
                    reason =
                            "the endpoint answered HTTP " + outcome.status() + bodyExcerpt(outcome);
                    Optional<Instant> hold =
                            ProviderBackoff.until(
                                    outcome.status(),
                                    outcome.headers().toMultimap(),
                                    clock.instant());
                    if (hold.isPresent()) {
                        // Not waited for here: the agent is held on every node until then, and
                        // this attempt goes back to the queue uncounted.
                        return ExecutionResult.throttled(
                                        hold.get(),
                                        redactor.scrub(
                                                reason
                                                        + "; it asked to be left alone until "
                                                        + hold.get()))
                                .withNote(logs.isEmpty() ? null : logs.toString().strip());
                    }
                    retryAfter = retryAfter(outcome.headers());
                } else {
                    return failure(ExecutionError.AGENT_ERROR, refusal(outcome));
                }
                if (tryNo > spec.retries()) {
                    return failure(
                            ExecutionError.AGENT_ERROR,
                            reason
                                    + " (gave up after "
                                    + tryNo
                                    + (tryNo == 1 ? " try" : " tries")
                                    + ")");
                }
                Duration wait = retryAfter != null ? retryAfter : backoff(tryNo);
                if (wait.toNanos() >= deadline - System.nanoTime()) {
                    return failure(
                            ExecutionError.AGENT_ERROR,
                            reason
                                    + "; not retried: "
                                    + (retryAfter != null
                                            ? "its Retry-After (" + wait.toSeconds() + " s)"
                                            : "the next try")
                                    + " is later than the attempt's timeout of "
                                    + request.timeout().toMillis()
                                    + " ms allows");
                }
                logs.append("try ")
                        .append(tryNo)
                        .append(": ")
                        .append(reason)
                        .append("; retrying in ")
                        .append(wait.toMillis())
                        .append(" ms")
                        .append(retryAfter != null ? " (Retry-After)" : "")
                        .append('\n');
                Thread.sleep(wait.toMillis());
            }
        }

        private Outcome send(long leftNanos) throws InterruptedException {
            Call call = http.newCall(httpRequest);
            call.timeout().timeout(leftNanos, TimeUnit.NANOSECONDS);
            Future<Outcome> pending = threads.submit(() -> perform(call));
            try {
                return pending.get(leftNanos + GRACE_NANOS, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                call.cancel();
                pending.cancel(true);
                throw e;
            } catch (TimeoutException e) {
                call.cancel();
                pending.cancel(true);
                return Outcome.TIMED_OUT;
            } catch (ExecutionException e) {
                return new Outcome(0, null, null, e.getCause(), false);
            }
        }

        private Outcome perform(Call call) {
            try (Response response = call.execute()) {
                AgentHttp.Body body =
                        AgentHttp.readAtMost(
                                response.body().byteStream(), AgentHttp.MAX_BODY_BYTES);
                return new Outcome(response.code(), response.headers(), body, null, false);
            } catch (IOException e) {
                boolean outOfTime = System.nanoTime() >= deadline - SLACK_NANOS;
                if (outOfTime && (e instanceof InterruptedIOException || call.isCanceled())) {
                    return Outcome.TIMED_OUT;
                }
                return new Outcome(0, null, null, e, false);
            }
        }

        private ExecutionResult result(Outcome outcome) {
            AgentHttp.Body body = outcome.body();
            if (body.truncated()) {
                return failure(
                        ExecutionError.INVALID_OUTPUT,
                        "the endpoint's response is larger than "
                                + AgentHttp.MAX_BODY_BYTES
                                + " bytes; results must be smaller");
            }
            JsonNode tree;
            try {
                tree = reader.readTree(body.bytes());
            } catch (IOException e) {
                String type = outcome.headers().get("Content-Type");
                return failure(
                        ExecutionError.INVALID_OUTPUT,
                        "the endpoint answered HTTP "
                                + outcome.status()
                                + " but its body is not JSON"
                                + (type == null ? "" : " (Content-Type " + type + ")")
                                + bodyExcerpt(outcome)
                                + "; it must answer with the result as JSON");
            }
            if (tree == null || tree.isMissingNode()) {
                return failure(
                        ExecutionError.INVALID_OUTPUT,
                        "the endpoint answered HTTP "
                                + outcome.status()
                                + " with an empty body; it must answer with the result as JSON");
            }
            JsonNode output = tree;
            if (spec.result() != null) {
                output = tree.at(spec.result());
                if (output.isMissingNode()) {
                    return failure(
                            ExecutionError.INVALID_OUTPUT,
                            "the endpoint's response has nothing at "
                                    + spec.result()
                                    + " (spec.serverless.result)"
                                    + bodyExcerpt(outcome));
                }
            }
            return ExecutionResult.success(output, logs());
        }

        /** The endpoint accepted the task; its result comes through the completion endpoint. */
        private ExecutionResult awaitReport(Outcome accepted) throws InterruptedException {
            logs.append("the endpoint accepted the task (HTTP ")
                    .append(accepted.status())
                    .append("); waiting for it to report the result\n");
            Duration left = Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
            Optional<String> state = reports.await(request.taskId(), request.leaseToken(), left);
            if (state.isEmpty()) {
                return failure(
                        ExecutionError.TIMEOUT,
                        "the endpoint accepted the task (HTTP "
                                + accepted.status()
                                + ") but did not report its result within the attempt's timeout of "
                                + request.timeout().toMillis()
                                + " ms; it must POST the result to the Pulse-Complete-Url it was sent, with its Pulse-Lease-Token");
            }
            return ExecutionResult.reportedByAgent("succeeded".equals(state.get()));
        }

        private String refusal(Outcome outcome) {
            int status = outcome.status();
            String hint = "";
            if (status == 401 || status == 403) {
                hint = " (check spec.serverless.auth and the secrets it references)";
            } else if (status >= 300 && status < 400) {
                String location = outcome.headers().get("Location");
                hint =
                        " (a redirect"
                                + (location == null
                                        ? ""
                                        : " to " + AgentHttp.excerpt(location, EXCERPT_CHARS))
                                + "; Pulse does not follow redirects: set spec.serverless.url to the final URL)";
            }
            return "the endpoint answered HTTP " + status + hint + bodyExcerpt(outcome);
        }

        private String bodyExcerpt(Outcome outcome) {
            if (outcome.body() == null || outcome.body().bytes().length == 0) {
                return "";
            }
            String text = new String(outcome.body().bytes(), StandardCharsets.UTF_8);
            return ": " + AgentHttp.excerpt(text, EXCERPT_CHARS);
        }

        private String describe(Throwable e) {
            String message = e.getMessage() == null ? "" : ": " + e.getMessage();
            return e.getClass().getSimpleName() + message;
        }

        private ExecutionResult timedOut() {
            return failure(
                    ExecutionError.TIMEOUT,
                    "the endpoint did not answer within the attempt's timeout of "
                            + request.timeout().toMillis()
                            + " ms; the request was abandoned");
        }

        private ExecutionResult failure(String code, String message) {
            return ExecutionResult.failure(
                    new ExecutionError(code, redactor.scrub(message)), logs());
        }

        private String logs() {
            return logs.length() == 0 ? null : redactor.scrub(logs.toString());
        }

        private Duration backoff(int tryNo) {
            long cap =
                    Math.min(
                            MAX_BACKOFF.toMillis(),
                            backoffBase.toMillis() << Math.min(tryNo - 1, 20));
            return Duration.ofMillis(ThreadLocalRandom.current().nextLong(cap / 2, cap + 1));
        }

        private Duration retryAfter(Headers headers) {
            String value = headers.get("Retry-After");
            if (value == null) {
                return null;
            }
            if (value.trim().matches("\\d{1,9}")) {
                return Duration.ofSeconds(Long.parseLong(value.trim()));
            }
            Date date = headers.getDate("Retry-After");
            if (date == null) {
                return null;
            }
            Duration until = Duration.between(clock.instant(), date.toInstant());
            return until.isNegative() ? Duration.ZERO : until;
        }
    }

    /** What one request got: an answer, a transport error, or no answer in time. */
    private record Outcome(
            int status, Headers headers, AgentHttp.Body body, Throwable error, boolean timedOut) {
        static final Outcome TIMED_OUT = new Outcome(0, null, null, null, true);
    }

    @Override
    public void close() {
        threads.shutdownNow();
    }
}
