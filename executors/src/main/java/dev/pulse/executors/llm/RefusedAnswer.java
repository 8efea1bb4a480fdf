package dev.pulse.executors.llm;

import dev.langchain4j.exception.HttpException;
import java.util.List;
import java.util.Map;

/**
 * A non-2xx answer from the model endpoint, with its headers: LangChain4j's own {@link
 * HttpException} keeps only the status and body, and wraps it (a 429 becomes its {@code
 * RateLimitException}); the executor finds this in the cause chain to read a provider's back-off
 * headers.
 */
final class RefusedAnswer extends HttpException {

    private final transient Map<String, List<String>> headers;

    RefusedAnswer(int statusCode, String body, Map<String, List<String>> headers) {
        super(statusCode, body);
        this.headers = Map.copyOf(headers);
    }

    Map<String, List<String>> headers() {
        return headers;
    }
}
