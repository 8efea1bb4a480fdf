package dev.pulse.server;

import dev.pulse.server.api.docs.ApiDocsRoutes;
import dev.pulse.server.api.docs.OpenApiResponseCheck;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.util.ArrayList;
import java.util.List;

/**
 * A test node's check that every response it sends, to any client of any test, is what {@code
 * openapi.yaml} says: installed as a Javalin after-handler, it judges each response with {@link
 * OpenApiResponseCheck} and keeps the mismatches, which {@link TestNode} turns into a failure at
 * the next request it sends and when it closes.
 */
public final class DocumentedResponses {

    private final OpenApiResponseCheck check = new OpenApiResponseCheck(ApiDocsRoutes.document());
    private final List<String> mismatches = new ArrayList<>();

    void install(RoutesConfig routes) {
        routes.after(this::judge);
    }

    /**
     * Only requests a route took: a path no route serves (on this node's roles) is not an
     * operation.
     */
    private void judge(Context ctx) {
        if (ctx.endpoints().matchedHttpEndpoint() == null) {
            return;
        }
        check.mismatch(
                        ctx.method().name(),
                        ctx.path(),
                        ctx.statusCode(),
                        ctx.res().getContentType(),
                        ctx.result())
                .ifPresent(this::add);
    }

    private synchronized void add(String mismatch) {
        mismatches.add(mismatch);
    }

    public synchronized List<String> mismatches() {
        return List.copyOf(mismatches);
    }

    /** Fails with every mismatch seen so far (each reported once). */
    public synchronized void assertAllMatched() {
        if (!mismatches.isEmpty()) {
            List<String> seen = new ArrayList<>(mismatches);
            mismatches.clear();
            throw new AssertionError(
                    "responses that do not match openapi.yaml:\n  " + String.join("\n  ", seen));
        }
    }
}
