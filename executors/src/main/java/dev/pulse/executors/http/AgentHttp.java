package dev.pulse.executors.http;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import okhttp3.OkHttpClient;

/** What the HTTP-based executors share: how they configure OkHttp, read bodies and quote them. */
public final class AgentHttp {

    /** Responses larger than this are refused (the same limit as a local agent's stdout). */
    public static final int MAX_BODY_BYTES = 1 << 20;

    private AgentHttp() {}

    /**
     * A client sharing {@code base}'s connection pool and dispatcher, without read, write or call
     * timeouts (each call gets the time left of its attempt as its call timeout) and without
     * following redirects (a redirect would resend the input, and maybe the credentials,
     * elsewhere).
     */
    public static OkHttpClient client(OkHttpClient base) {
        return base.newBuilder()
                .callTimeout(Duration.ZERO)
                .readTimeout(Duration.ZERO)
                .writeTimeout(Duration.ZERO)
                .followRedirects(false)
                .followSslRedirects(false)
                .build();
    }

    /**
     * Daemon threads that make blocking calls, so the calling thread stays free to notice an
     * interrupt.
     */
    public static ExecutorService callThreads(String name) {
        return Executors.newCachedThreadPool(
                r -> {
                    Thread t = new Thread(r, name);
                    t.setDaemon(true);
                    return t;
                });
    }

    /** Reads at most {@code limit} bytes; {@code truncated} says whether there was more. */
    public static Body readAtMost(InputStream in, int limit) throws IOException {
        byte[] bytes = in.readNBytes(limit);
        boolean truncated = in.read() != -1;
        return new Body(bytes, truncated);
    }

    /** The start of a text on one line, for error messages. */
    public static String excerpt(String text, int maxChars) {
        if (text == null) {
            return "";
        }
        String oneLine = text.strip().replaceAll("\\s+", " ");
        return oneLine.length() <= maxChars ? oneLine : oneLine.substring(0, maxChars) + "…";
    }

    public record Body(byte[] bytes, boolean truncated) {}
}
