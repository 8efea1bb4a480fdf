package dev.pulse.executors.agents;

/**
 * How an agent's runs are admitted besides {@code max_concurrency}: at most {@code
 * perKeyConcurrency} running per concurrency key, at most {@code rateLimit} starts per window for
 * the agent and {@code perKeyRateLimit} per key. Each null when not set. Tasks without a key are
 * not subject to the per-key limits. {@code budget} is the agent's daily budget (null for none): it
 * holds the agent once spent, not the claim's limits.
 */
public record FlowLimits(
        Integer perKeyConcurrency,
        RateLimit rateLimit,
        RateLimit perKeyRateLimit,
        AgentBudget budget) {

    public static final FlowLimits NONE = new FlowLimits(null, null, null, null);

    public FlowLimits(Integer perKeyConcurrency, RateLimit rateLimit, RateLimit perKeyRateLimit) {
        this(perKeyConcurrency, rateLimit, perKeyRateLimit, null);
    }

    public boolean perKey() {
        return perKeyConcurrency != null || perKeyRateLimit != null;
    }
}
