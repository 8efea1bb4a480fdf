package dev.pulse.server.api;

import io.javalin.http.Context;
import java.util.Optional;
import java.util.UUID;

/**
 * Ids in request paths: a UUID in its canonical form, or nothing (answered as 404 by the caller).
 */
public final class PathIds {

    private PathIds() {}

    /**
     * The request's {@code {id}}, or a 404 problem whose detail is {@code notFound} with the raw id
     * in place of its {@code %s} (saying where a right id comes from).
     */
    public static UUID of(Context ctx, String notFound) {
        String raw = ctx.pathParam("id");
        return parse(raw)
                .orElseThrow(
                        () -> new ProblemException(Problem.notFound(String.format(notFound, raw))));
    }

    public static Optional<UUID> parse(String raw) {
        try {
            UUID id = UUID.fromString(raw);
            return id.toString().equalsIgnoreCase(raw) ? Optional.of(id) : Optional.empty();
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
