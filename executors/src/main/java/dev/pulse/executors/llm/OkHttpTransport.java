package dev.pulse.executors.llm;

import dev.langchain4j.exception.TimeoutException;
import dev.langchain4j.http.client.HttpClient;
import dev.langchain4j.http.client.HttpClientBuilder;
import dev.langchain4j.http.client.HttpRequest;
import dev.langchain4j.http.client.SuccessfulHttpResponse;
import dev.langchain4j.http.client.sse.ServerSentEventListener;
import dev.langchain4j.http.client.sse.ServerSentEventParser;
import dev.pulse.executors.http.AgentHttp;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import okhttp3.Call;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/**
 * LangChain4j's HTTP client SPI on Pulse's shared OkHttp client, for one model call: every request
 * gets the time left until {@code deadline} as its call timeout, and {@link #cancel()} (from the
 * thread waiting for the result) aborts the request in flight at once.
 */
final class OkHttpTransport implements HttpClientBuilder, HttpClient {

    private final OkHttpClient http;
    private final long deadline;
    private final Object lock = new Object();
    private Call current;
    private boolean cancelled;
    private Duration connectTimeout;
    private Duration readTimeout;

    /**
     * @param deadline {@link System#nanoTime()} by which every request must have finished
     */
    OkHttpTransport(OkHttpClient http, long deadline) {
        this.http = http;
        this.deadline = deadline;
    }

    void cancel() {
        synchronized (lock) {
            cancelled = true;
            if (current != null) {
                current.cancel();
            }
        }
    }

    @Override
    public SuccessfulHttpResponse execute(HttpRequest request) {
        if (!request.formDataFields().isEmpty() || !request.formDataFiles().isEmpty()) {
            throw new UnsupportedOperationException(
                    "multipart requests are not used by Pulse's llm executor");
        }
        Request.Builder builder = new Request.Builder().url(request.url());
        request.headers()
                .forEach(
                        (name, values) -> {
                            if (values != null) {
                                values.forEach(value -> builder.addHeader(name, value));
                            }
                        });
        RequestBody body =
                request.body() == null
                        ? null
                        : RequestBody.create(request.body().getBytes(StandardCharsets.UTF_8), null);
        if (body == null && request.method().name().equals("POST")) {
            body = RequestBody.create(new byte[0], null);
        }
        builder.method(request.method().name(), body);

        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw new TimeoutException("the attempt's timeout passed before the request was sent");
        }
        Call call = http.newCall(builder.build());
        call.timeout().timeout(left, TimeUnit.NANOSECONDS);
        synchronized (lock) {
            if (cancelled) {
                throw new IllegalStateException("cancelled");
            }
            current = call;
        }
        try (Response response = call.execute()) {
            AgentHttp.Body read =
                    AgentHttp.readAtMost(response.body().byteStream(), AgentHttp.MAX_BODY_BYTES);
            String text = new String(read.bytes(), StandardCharsets.UTF_8);
            if (!response.isSuccessful()) {
                throw new RefusedAnswer(response.code(), text, response.headers().toMultimap());
            }
            if (read.truncated()) {
                throw new UncheckedIOException(
                        new IOException(
                                "the model's response is larger than "
                                        + AgentHttp.MAX_BODY_BYTES
                                        + " bytes"));
            }
            return SuccessfulHttpResponse.builder()
                    .statusCode(response.code())
                    .headers(response.headers().toMultimap())
                    .body(text)
                    .build();
        } catch (InterruptedIOException e) {
            if (System.nanoTime() >= deadline - TimeUnit.MILLISECONDS.toNanos(50)) {
                throw new TimeoutException(e);
            }
            throw new UncheckedIOException(e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            synchronized (lock) {
                current = null;
            }
        }
    }

    @Override
    public void execute(
            HttpRequest request, ServerSentEventParser parser, ServerSentEventListener listener) {
        throw new UnsupportedOperationException("streaming is not used by Pulse's llm executor");
    }

    // HttpClientBuilder: LangChain4j passes its timeouts here; the attempt's deadline governs
    // instead.

    @Override
    public Duration connectTimeout() {
        return connectTimeout;
    }

    @Override
    public HttpClientBuilder connectTimeout(Duration timeout) {
        this.connectTimeout = timeout;
        return this;
    }

    @Override
    public Duration readTimeout() {
        return readTimeout;
    }

    @Override
    public HttpClientBuilder readTimeout(Duration timeout) {
        this.readTimeout = timeout;
        return this;
    }

    @Override
    public HttpClient build() {
        return this;
    }
}
