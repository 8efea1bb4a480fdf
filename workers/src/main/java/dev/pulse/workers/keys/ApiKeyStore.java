package dev.pulse.workers.keys;

import dev.pulse.workers.db.Columns;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.Base64;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.random.RandomGenerator;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Update;

/**
 * Creating, checking, listing and revoking API keys. The key itself exists only in the creator's
 * hands.
 */
public final class ApiKeyStore {

    static final String KEY_PREFIX = "pulse_";
    private static final int RANDOM_BYTES = 24;

    private static final String INSERT =
            """
            INSERT INTO api_keys (id, name, prefix, key_hash, scopes)
            VALUES (:id, :name, :prefix, :key_hash, CAST(:scopes AS text[]))
            """;

    private static final String INSERT_IF_ABSENT = INSERT + " ON CONFLICT DO NOTHING";

    // last_used_at is kept to the minute, so a busy key costs one read per request, not a write
    // too.
    private static final String BY_HASH =
            """
            SELECT *, last_used_at IS NULL OR last_used_at < now() - interval '1 minute' AS use_is_stale
              FROM api_keys WHERE key_hash = :key_hash AND revoked_at IS NULL
            """;

    private static final String TOUCH = "UPDATE api_keys SET last_used_at = now() WHERE id = :id";

    private static final String FIND_LIVE =
            "SELECT * FROM api_keys WHERE id = :id AND revoked_at IS NULL";

    private static final String LIST = "SELECT * FROM api_keys ORDER BY name";
    private static final String COUNT = "SELECT count(*) FROM api_keys";
    private static final String REVOKE =
            "UPDATE api_keys SET revoked_at = now() WHERE name = :name AND revoked_at IS NULL";
    private static final String DELETE = "DELETE FROM api_keys WHERE name = :name";

    /**
     * Sent in the transaction that revokes or deletes a key, so it is delivered when that commits:
     * every node drops the keys it has cached ({@link CachedApiKeys}).
     */
    public static final String CHANGED_CHANNEL = "pulse_api_keys";

    private static final String NOTIFY_CHANGED = "NOTIFY " + CHANGED_CHANNEL;

    private final Jdbi jdbi;
    private final RandomGenerator random;

    public ApiKeyStore(Jdbi jdbi, RandomGenerator random) {
        this.jdbi = jdbi;
        this.random = random;
    }

    /** Creates a key and returns it: the only time it can be seen. */
    public String create(String name, Set<Scope> scopes) {
        byte[] bytes = new byte[RANDOM_BYTES];
        random.nextBytes(bytes);
        String key = KEY_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
        jdbi.useHandle(h -> bind(h.createUpdate(INSERT), name, key, scopes).execute());
        return key;
    }

    /** Stores a key chosen by the operator (from configuration) if it isn't stored yet. */
    public void ensure(String name, String key, Set<Scope> scopes) {
        jdbi.useHandle(h -> bind(h.createUpdate(INSERT_IF_ABSENT), name, key, scopes).execute());
    }

    private static Update bind(Update update, String name, String key, Set<Scope> scopes) {
        return update.bind("id", UUID.randomUUID())
                .bind("name", name)
                .bind("prefix", key.substring(0, Math.min(key.length(), KEY_PREFIX.length() + 6)))
                .bind("key_hash", hash(key))
                .bind("scopes", scopes.stream().map(Scope::wire).toArray(String[]::new));
    }

    /** The live key matching a presented secret. */
    public Optional<ApiKey> authenticate(String presented) {
        return authenticateHash(hash(presented));
    }

    /** The live key whose secret hashes to {@code keyHash} ({@link #hash}). */
    Optional<ApiKey> authenticateHash(String keyHash) {
        record Found(ApiKey key, boolean useIsStale) {}
        Optional<Found> found =
                jdbi.withHandle(
                        h ->
                                h.createQuery(BY_HASH)
                                        .bind("key_hash", keyHash)
                                        .map(
                                                (rs, ctx) ->
                                                        new Found(
                                                                map(rs),
                                                                rs.getBoolean("use_is_stale")))
                                        .findOne());
        found.filter(Found::useIsStale)
                .ifPresent(
                        f ->
                                jdbi.useHandle(
                                        h ->
                                                h.createUpdate(TOUCH)
                                                        .bind("id", f.key().id())
                                                        .execute()));
        return found.map(Found::key);
    }

    /** The key with this id, unless it was revoked. */
    public Optional<ApiKey> findLive(UUID id) {
        return jdbi.withHandle(
                h -> h.createQuery(FIND_LIVE).bind("id", id).map((rs, ctx) -> map(rs)).findOne());
    }

    public List<ApiKey> list() {
        return jdbi.withHandle(h -> h.createQuery(LIST).map((rs, ctx) -> map(rs)).list());
    }

    public long count() {
        return jdbi.withHandle(h -> h.createQuery(COUNT).mapTo(Long.class).one());
    }

    public boolean revoke(String name) {
        return changeAndNotify(REVOKE, name);
    }

    private boolean changeAndNotify(String change, String name) {
        return jdbi.inTransaction(
                h -> {
                    boolean changed = h.createUpdate(change).bind("name", name).execute() > 0;
                    if (changed) {
                        h.execute(NOTIFY_CHANGED);
                    }
                    return changed;
                });
    }

    /**
     * Removes the key for good (a key made for one job, such as a benchmark's); false when there
     * was none.
     */
    public boolean delete(String name) {
        return changeAndNotify(DELETE, name);
    }

    static String hash(String key) {
        try {
            return HexFormat.of()
                    .formatHex(
                            MessageDigest.getInstance("SHA-256")
                                    .digest(key.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }

    private static ApiKey map(ResultSet rs) throws SQLException {
        Array array = rs.getArray("scopes");
        Set<Scope> scopes = EnumSet.noneOf(Scope.class);
        Arrays.stream((String[]) array.getArray())
                .map(Scope::fromWire)
                .flatMap(Optional::stream)
                .forEach(scopes::add);
        return new ApiKey(
                rs.getObject("id", UUID.class),
                rs.getString("name"),
                rs.getString("prefix"),
                scopes,
                Columns.instant(rs, "created_at"),
                Columns.instant(rs, "last_used_at"),
                Columns.instant(rs, "revoked_at"));
    }
}
