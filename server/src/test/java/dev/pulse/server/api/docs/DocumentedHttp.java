package dev.pulse.server.api.docs;

import java.net.http.HttpResponse;

/**
 * The client-side form of the response check, for tests whose node runs in another process (so
 * {@link dev.pulse.server.TestNode}'s server-side hook can't see its answers): wrap each response,
 * {@code DocumentedHttp.checked(http.send(...))}, and a mismatch with {@code openapi.yaml} fails
 * the test at once.
 */
public final class DocumentedHttp {

    private static final OpenApiResponseCheck CHECK =
            new OpenApiResponseCheck(ApiDocsRoutes.document());

    private DocumentedHttp() {}

    public static <T> HttpResponse<T> checked(HttpResponse<T> response) {
        Object body = response.body();
        CHECK.mismatch(
                        response.request().method(),
                        response.uri().getRawPath(),
                        response.statusCode(),
                        response.headers().firstValue("Content-Type").orElse(null),
                        body == null ? "" : body.toString())
                .ifPresent(
                        mismatch -> {
                            throw new AssertionError(
                                    "a response that does not match openapi.yaml: " + mismatch);
                        });
        return response;
    }
}
