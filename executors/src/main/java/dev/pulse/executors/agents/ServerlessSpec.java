package dev.pulse.executors.agents;

import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Settings of the {@code serverless} executor: the task input is sent as JSON to {@code url} with
 * {@code method}; in {@code sync} mode the response (or the part of it at the JSON pointer {@code
 * result}) is the result. Values of {@code url}, {@code headers} and {@code auth} may reference
 * secrets as {@code ${env:NAME}}; they are resolved only when a request is sent. {@code retries} is
 * how many more times one attempt retries after a connection error, a 5xx or a 429.
 */
public record ServerlessSpec(
        String url,
        String method,
        Map<String, String> headers,
        Auth auth,
        String result,
        Mode mode,
        int retries) {

    public static final String DEFAULT_METHOD = "POST";
    public static final int DEFAULT_RETRIES = 2;
    public static final int MAX_RETRIES = 10;

    public ServerlessSpec {
        Objects.requireNonNull(url, "url");
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(mode, "mode");
        headers = headers == null ? Map.of() : Map.copyOf(headers);
    }

    /**
     * A synchronous POST to {@code url} with no extra headers, no auth and the whole response as
     * result.
     */
    public static ServerlessSpec sync(String url) {
        return new ServerlessSpec(
                url, DEFAULT_METHOD, Map.of(), null, null, Mode.SYNC, DEFAULT_RETRIES);
    }

    public ServerlessSpec withAuth(Auth auth) {
        return new ServerlessSpec(url, method, headers, auth, result, mode, retries);
    }

    public ServerlessSpec withResult(String pointer) {
        return new ServerlessSpec(url, method, headers, auth, pointer, mode, retries);
    }

    public ServerlessSpec withHeaders(Map<String, String> headers) {
        return new ServerlessSpec(url, method, headers, auth, result, mode, retries);
    }

    public ServerlessSpec withRetries(int retries) {
        return new ServerlessSpec(url, method, headers, auth, result, mode, retries);
    }

    public ServerlessSpec withMode(Mode mode) {
        return new ServerlessSpec(url, method, headers, auth, result, mode, retries);
    }

    @Override
    public String toString() {
        return "ServerlessSpec[url="
                + url
                + ", method="
                + method
                + ", headers="
                + headers.keySet()
                + ", auth="
                + auth
                + ", result="
                + result
                + ", mode="
                + mode
                + ", retries="
                + retries
                + "]";
    }

    public enum Mode {
        /** The response is the result. */
        SYNC,
        /** The endpoint answers 202 and completes the attempt later (not available yet). */
        ASYNC;

        public String yamlName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** How the request authenticates. {@code toString} never shows a credential. */
    public sealed interface Auth permits BearerAuth, HeaderAuth, BasicAuth {}

    /** {@code Authorization: Bearer <token>}. */
    public record BearerAuth(String token) implements Auth {
        @Override
        public String toString() {
            return "bearer";
        }
    }

    /** A header of its own, e.g. {@code X-Api-Key: <value>}. */
    public record HeaderAuth(String name, String value) implements Auth {
        @Override
        public String toString() {
            return "header " + name;
        }
    }

    /** {@code Authorization: Basic base64(username:password)}. */
    public record BasicAuth(String username, String password) implements Auth {
        @Override
        public String toString() {
            return "basic";
        }
    }
}
