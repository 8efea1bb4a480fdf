package dev.pulse.workers.settings;

import java.util.Optional;
import java.util.function.Supplier;
import org.jdbi.v3.core.Jdbi;

/** Cluster-wide values every node must agree on, kept in the {@code settings} table. */
public final class SettingsStore {

    private static final String INSERT_IF_ABSENT =
            """
            INSERT INTO settings (name, value) VALUES (:name, :value)
            ON CONFLICT (name) DO NOTHING
            RETURNING value
            """;

    private static final String FIND = "SELECT value FROM settings WHERE name = :name";

    private final Jdbi jdbi;

    public SettingsStore(Jdbi jdbi) {
        this.jdbi = jdbi;
    }

    public record Value(String value, boolean created) {}

    /** The stored value, or the supplied one stored now if there was none (the first node wins). */
    public Value getOrCreate(String name, Supplier<String> initial) {
        return jdbi.inTransaction(
                h -> {
                    Optional<String> existing =
                            h.createQuery(FIND).bind("name", name).mapTo(String.class).findOne();
                    if (existing.isPresent()) {
                        return new Value(existing.get(), false);
                    }
                    Optional<String> inserted =
                            h.createQuery(INSERT_IF_ABSENT)
                                    .bind("name", name)
                                    .bind("value", initial.get())
                                    .mapTo(String.class)
                                    .findOne();
                    return inserted.map(v -> new Value(v, true))
                            .orElseGet(
                                    () ->
                                            new Value(
                                                    h.createQuery(FIND)
                                                            .bind("name", name)
                                                            .mapTo(String.class)
                                                            .one(),
                                                    false));
                });
    }
}
