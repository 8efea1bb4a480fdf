package dev.pulse.workers.keys;

import dev.pulse.workers.db.ConnectionSettings;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.maintenance.Duty;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The keys of recent requests, kept so that a busy key costs no database lookup per request, with
 * revocation still taking effect on every node at once: revoking or deleting a key notifies {@code
 * pulse_api_keys} in its transaction ({@link ApiKeyStore#CHANGED_CHANNEL}), and every node's
 * listener drops all it has cached when that commits. A key is also looked up again after {@code
 * ttl}, and nothing is cached while the listener is not connected (a notification could be missed
 * then), so a lost connection costs speed, never a revoked key accepted.
 *
 * <p>Only keys found live are cached; an unknown key is looked up every time, as before.
 */
public final class CachedApiKeys implements Duty {

    private static final Logger log = LoggerFactory.getLogger(CachedApiKeys.class);
    private static final Duration CHECK_WHEN_QUIET_FOR = Duration.ofSeconds(10);

    private record Cached(ApiKey key, long expiresAt) {}

    private final ApiKeyStore store;
    private final DatabaseUrl url;
    private final ConnectionSettings settings;
    private final long ttlNanos;
    private final Map<String, Cached> byHash = new ConcurrentHashMap<>();
    // Bumped by every notification: a lookup that began before one must not cache what it found.
    private final AtomicLong generation = new AtomicLong();
    private final AtomicLong connections = new AtomicLong();
    private final AtomicLong lost = new AtomicLong();
    private final AtomicLong lookups = new AtomicLong();
    private final Thread listener;
    private volatile boolean listening;
    private volatile boolean failing;
    private volatile boolean running = true;
    private volatile Connection current;

    /**
     * @param url where to LISTEN (a connection of its own, outside the pool)
     * @param settings the node's connection settings (its name, timeouts, keepalive)
     * @param ttl how long a key found live is trusted without a notification
     */
    public CachedApiKeys(
            ApiKeyStore store, DatabaseUrl url, ConnectionSettings settings, Duration ttl) {
        this.store = store;
        this.url = url;
        this.settings = settings;
        this.ttlNanos = ttl.toNanos();
        this.listener = new Thread(this::listen, "pulse-keys-listen");
        this.listener.setDaemon(true);
    }

    @Override
    public String name() {
        return "api-key-cache";
    }

    @Override
    public void start() {
        listener.start();
    }

    /** The live key matching a presented secret: {@link ApiKeyStore#authenticate}, cached. */
    public Optional<ApiKey> authenticate(String presented) {
        String hash = ApiKeyStore.hash(presented);
        Cached cached = byHash.get(hash);
        if (cached != null && listening && System.nanoTime() - cached.expiresAt() < 0) {
            return Optional.of(cached.key());
        }
        long seen = generation.get();
        lookups.incrementAndGet();
        Optional<ApiKey> found = store.authenticateHash(hash);
        if (found.isPresent() && listening && generation.get() == seen) {
            byHash.put(hash, new Cached(found.get(), System.nanoTime() + ttlNanos));
        } else if (found.isEmpty()) {
            byHash.remove(hash);
        }
        return found;
    }

    /** How many times a key was looked up in the database; for tests and diagnostics. */
    public long lookups() {
        return lookups.get();
    }

    private void forgetAll() {
        generation.incrementAndGet();
        byHash.clear();
    }

    private void listen() {
        long pause = 100;
        while (running) {
            try (Connection c = connect()) {
                current = c;
                try (Statement s = c.createStatement()) {
                    s.execute("LISTEN " + ApiKeyStore.CHANGED_CHANNEL);
                }
                forgetAll(); // whatever changed while we were not listening
                listening = true;
                connections.incrementAndGet();
                failing = false;
                pause = 100;
                PGConnection pg = c.unwrap(PGConnection.class);
                long quietSince = System.nanoTime();
                while (running) {
                    PGNotification[] got = pg.getNotifications(1_000);
                    if (got != null && got.length > 0) {
                        forgetAll();
                        quietSince = System.nanoTime();
                    } else if (System.nanoTime() - quietSince > CHECK_WHEN_QUIET_FOR.toNanos()) {
                        try (Statement s = c.createStatement()) {
                            s.setQueryTimeout(5);
                            s.execute("SELECT 1");
                        }
                        quietSince = System.nanoTime();
                    }
                }
            } catch (SQLException | RuntimeException e) {
                listening = false;
                forgetAll();
                if (!running) {
                    return;
                }
                lost.incrementAndGet();
                if (!failing) {
                    log.warn(
                            "lost the connection that hears of revoked API keys ({}); checking every key in the database meanwhile",
                            e.getMessage());
                    failing = true;
                }
                try {
                    Thread.sleep(pause);
                } catch (InterruptedException interrupted) {
                    return;
                }
                pause = Math.min(pause * 2, 5_000);
            } finally {
                listening = false;
                current = null;
            }
        }
    }

    private Connection connect() throws SQLException {
        return settings.open(url);
    }

    @Override
    public Status status() {
        return new Status(connections.get(), lost.get(), failing);
    }

    @Override
    public void close() {
        running = false;
        listening = false;
        Connection c = current;
        if (c != null) {
            try {
                c.close();
            } catch (SQLException e) {
                // closing anyway
            }
        }
        listener.interrupt();
        try {
            listener.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
