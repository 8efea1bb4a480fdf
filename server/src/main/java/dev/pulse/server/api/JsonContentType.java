package dev.pulse.server.api;

import io.javalin.http.Context;
import io.javalin.http.Handler;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Refuses a request body that is not declared JSON with 415, before any handler reads it: a body
 * sent as {@code text/plain} or a form must not be taken for JSON just because it parses as JSON.
 * Only API routes ({@code /v1/...}) take JSON bodies; requests without a body pass.
 */
public final class JsonContentType implements Handler {

    public static final String EXPECTED = "application/json";
    private static final Set<String> WITH_BODY = Set.of("POST", "PUT", "PATCH");

    private final JsonResponses responses;

    public JsonContentType(JsonResponses responses) {
        this.responses = responses;
    }

    @Override
    public void handle(Context ctx) {
        if (!ctx.path().startsWith("/v1/") || !WITH_BODY.contains(ctx.method().name()) || ctx.bodyAsBytes().length == 0) {
            return;
        }
        String declared = ctx.contentType();
        if (isJson(declared)) {
            return;
        }
        throw new ProblemException(new Problem("/problems/unsupported-media-type", "Unsupported media type", 415,
                (declared == null || declared.isBlank() ? "the request body has no Content-Type" : "the request body is "
                        + mediaType(declared)) + "; send it as " + EXPECTED + " (header Content-Type: " + EXPECTED + ")",
                List.of(new Problem.FieldError("Content-Type", "must be " + EXPECTED))));
    }

    /** {@code application/json} or a {@code +json} type such as {@code application/merge-patch+json}, any parameters. */
    static boolean isJson(String contentType) {
        if (contentType == null) {
            return false;
        }
        String type = mediaType(contentType);
        return type.equals(EXPECTED) || (type.startsWith("application/") && type.endsWith("+json"));
    }

    private static String mediaType(String contentType) {
        int semicolon = contentType.indexOf(';');
        return (semicolon < 0 ? contentType : contentType.substring(0, semicolon)).trim().toLowerCase(Locale.ROOT);
    }
}
