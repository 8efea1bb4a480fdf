package dev.pulse.workers.keys;

import dev.pulse.workers.db.ChannelListener;
import dev.pulse.workers.db.ConnectionSettings;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.maintenance.Duty;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

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
public final class CachedApiKeys implements Duty, ChannelListener.Events {

    private record Cached(ApiKey key, long expiresAt) {}

    private final ApiKeyStore store;
    private final long ttlNanos;
    private final Map<String, Cached> byHash = new ConcurrentHashMap<>();
    // Bumped by every notification: a lookup that began before one must not cache what it found.
    private final AtomicLong generation = new AtomicLong();
    private final AtomicLong lookups = new AtomicLong();
    private final ChannelListener listener;
    private volatile boolean listening;

    /**
     * @param url where to LISTEN (a connection of its own, outside the pool)
     * @param settings the node's connection settings (its name, timeouts, keepalive)
     * @param ttl how long a key found live is trusted without a notification
     */
    public CachedApiKeys(
            ApiKeyStore store, DatabaseUrl url, ConnectionSettings settings, Duration ttl) {
        this.store = store;
        this.ttlNanos = ttl.toNanos();
        this.listener =
                new ChannelListener(
                        ApiKeyStore.CHANGED_CHANNEL,
                        "revoked API keys",
                        "checking every key in the database",
                        url,
                        settings,
                        this);
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

    @Override
    public void connected() {
        forgetAll(); // whatever changed while we were not listening
        listening = true;
    }

    @Override
    public void notified(int count) {
        forgetAll();
    }

    @Override
    public void lost() {
        listening = false;
        forgetAll();
    }

    private void forgetAll() {
        generation.incrementAndGet();
        byHash.clear();
    }

    @Override
    public Status status() {
        return listener.status();
    }

    @Override
    public void close() {
        listening = false;
        listener.close();
    }
}
