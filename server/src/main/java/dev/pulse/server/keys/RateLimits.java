package dev.pulse.server.keys;

import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Requests per second per key, on this node (token buckets: {@code perSecond} sustained, twice that
 * in a burst). Zero turns limiting off.
 */
public final class RateLimits {

    private final int perSecond;
    private final Map<UUID, Bucket> buckets = new ConcurrentHashMap<>();

    public RateLimits(int perSecond) {
        this.perSecond = perSecond;
    }

    /**
     * Takes one request from the key's allowance; returns 0 if allowed, else the seconds to wait.
     */
    long take(UUID key) {
        if (perSecond <= 0) {
            return 0;
        }
        Bucket bucket =
                buckets.computeIfAbsent(
                        key,
                        k ->
                                Bucket.builder()
                                        .addLimit(
                                                limit ->
                                                        limit.capacity(2L * perSecond)
                                                                .refillGreedy(
                                                                        perSecond,
                                                                        Duration.ofSeconds(1)))
                                        .build());
        ConsumptionProbe probe = bucket.tryConsumeAndReturnRemaining(1);
        if (probe.isConsumed()) {
            return 0;
        }
        return Math.max(1, (probe.getNanosToWaitForRefill() + 999_999_999L) / 1_000_000_000L);
    }
}
