package dev.pulse.server.dashboard;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;
import java.util.UUID;
import java.util.random.RandomGenerator;
import org.jdbi.v3.core.Jdbi;

/**
 * Dashboard sessions in the database, so every API node sharing it knows them and signing out ends
 * them everywhere. The browser holds a random token; only its SHA-256 is stored. The CSRF token is
 * derived from the session token, so it is tied to the session and needs no storage.
 */
final class SessionStore {

    static final Duration LIFETIME = Duration.ofHours(12);
    private static final int TOKEN_BYTES = 32;

    private static final String OPEN =
            """
            INSERT INTO dashboard_sessions (token_hash, key_id, expires_at)
            VALUES (:token_hash, :key_id, now() + make_interval(secs => :seconds))
            """;

    private static final String KEY_OF =
            """
            SELECT key_id FROM dashboard_sessions WHERE token_hash = :token_hash AND expires_at > now()
            """;

    private static final String CLOSE =
            "DELETE FROM dashboard_sessions WHERE token_hash = :token_hash";

    private static final String PRUNE = "DELETE FROM dashboard_sessions WHERE expires_at < now()";

    private final Jdbi jdbi;
    private final RandomGenerator random;

    SessionStore(Jdbi jdbi, RandomGenerator random) {
        this.jdbi = jdbi;
        this.random = random;
    }

    /** Opens a session for the key and returns its token (for the cookie, never stored). */
    String open(UUID keyId) {
        String token = randomToken(random);
        jdbi.useHandle(
                h -> {
                    h.createUpdate(PRUNE).execute();
                    h.createUpdate(OPEN)
                            .bind("token_hash", hash(token))
                            .bind("key_id", keyId)
                            .bind("seconds", (double) LIFETIME.toSeconds())
                            .execute();
                });
        return token;
    }

    /** The key of a live session. */
    Optional<UUID> keyOf(String token) {
        if (token == null || token.isBlank() || token.length() > 100) {
            return Optional.empty();
        }
        return jdbi.withHandle(
                h ->
                        h.createQuery(KEY_OF)
                                .bind("token_hash", hash(token))
                                .mapTo(UUID.class)
                                .findOne());
    }

    void close(String token) {
        jdbi.useHandle(h -> h.createUpdate(CLOSE).bind("token_hash", hash(token)).execute());
    }

    /**
     * The CSRF token of a session: a one-way function of its token, so showing it reveals nothing.
     */
    static String csrfToken(String sessionToken) {
        return Base64.getUrlEncoder()
                .withoutPadding()
                .encodeToString(sha256("pulse-dashboard-csrf:" + sessionToken));
    }

    static String randomToken(RandomGenerator random) {
        byte[] bytes = new byte[TOKEN_BYTES];
        random.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    static boolean same(String a, String b) {
        return a != null
                && b != null
                && MessageDigest.isEqual(
                        a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
    }

    private static String hash(String token) {
        return HexFormat.of().formatHex(sha256(token));
    }

    private static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256")
                    .digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }
}
