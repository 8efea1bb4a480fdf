package dev.pulse.server.api;

import dev.pulse.workers.json.FieldError;
import io.javalin.http.Context;
import java.util.List;
import java.util.Locale;

/**
 * The request body of an operation that takes JSON, refused with 415 unless it is declared JSON: a
 * body sent as {@code text/plain} or a form must not be taken for JSON just because it parses as
 * JSON. An empty body passes whatever its type; the operation says whether it needs one.
 */
public final class JsonContentType {

    public static final String EXPECTED = "application/json";

    private JsonContentType() {}

    public static String body(Context ctx) {
        String body = ctx.body();
        if (body.isEmpty() || isJson(ctx.contentType())) {
            return body;
        }
        String declared = ctx.contentType();
        throw new ProblemException(
                new Problem(
                        "/problems/unsupported-media-type",
                        "Unsupported media type",
                        415,
                        (declared == null || declared.isBlank()
                                        ? "the request body has no Content-Type"
                                        : "the request body is " + mediaType(declared))
                                + "; send it as "
                                + EXPECTED
                                + " (header Content-Type: "
                                + EXPECTED
                                + ")",
                        List.of(new FieldError("Content-Type", "must be " + EXPECTED))));
    }

    /**
     * {@code application/json} or a {@code +json} type such as {@code
     * application/merge-patch+json}, any parameters.
     */
    static boolean isJson(String contentType) {
        if (contentType == null) {
            return false;
        }
        String type = mediaType(contentType);
        return type.equals(EXPECTED) || (type.startsWith("application/") && type.endsWith("+json"));
    }

    private static String mediaType(String contentType) {
        int semicolon = contentType.indexOf(';');
        return (semicolon < 0 ? contentType : contentType.substring(0, semicolon))
                .trim()
                .toLowerCase(Locale.ROOT);
    }
}
