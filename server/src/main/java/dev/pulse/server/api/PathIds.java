package dev.pulse.server.api;

import java.util.Optional;
import java.util.UUID;

/**
 * Ids in request paths: a UUID in its canonical form, or nothing (answered as 404 by the caller).
 */
public final class PathIds {

    private PathIds() {}

    public static Optional<UUID> parse(String raw) {
        try {
            UUID id = UUID.fromString(raw);
            return id.toString().equalsIgnoreCase(raw) ? Optional.of(id) : Optional.empty();
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
