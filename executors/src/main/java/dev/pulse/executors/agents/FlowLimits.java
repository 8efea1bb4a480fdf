package dev.pulse.executors.agents;

/**
 * How an agent's runs are admitted besides {@code max_concurrency}: at most {@code
 * perKeyConcurrency} running per concurrency key, at most {@code rateLimit} starts per window for
 * the agent and {@code perKeyRateLimit} per key. Each null when not set. Tasks without a key are
 * not subject to the per-key limits.
 */
public record FlowLimits(
        Integer perKeyConcurrency, RateLimit rateLimit, RateLimit perKeyRateLimit) {

    public static final FlowLimits NONE = new FlowLimits(null, null, null);

    public boolean perKey() {
        return perKeyConcurrency != null || perKeyRateLimit != null;
    }
}
