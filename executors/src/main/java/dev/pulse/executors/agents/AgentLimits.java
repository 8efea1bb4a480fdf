package dev.pulse.executors.agents;

/**
 * Everything that decides whether a claim may start another of an agent's tasks: its {@code
 * max_concurrency} (null for none) and its {@link FlowLimits}. An agent without any is not in
 * {@link AgentRegistry#limits()}.
 */
public record AgentLimits(Integer maxConcurrency, FlowLimits flow) {

    /** Only a {@code max_concurrency}. */
    public static AgentLimits concurrency(int maxConcurrency) {
        return new AgentLimits(maxConcurrency, FlowLimits.NONE);
    }

    static AgentLimits of(AgentDefinition agent) {
        return new AgentLimits(agent.maxConcurrency(), agent.flow());
    }

    /** True if any limit is set. */
    public boolean any() {
        return maxConcurrency != null || flow.rateLimit() != null || flow.perKey();
    }

    /**
     * True if a limit of the agent as a whole is set: its claims take the agent's lock (per-key
     * limits take only their keys' locks).
     */
    public boolean agentWide() {
        return maxConcurrency != null || flow.rateLimit() != null;
    }

    public Integer perKeyConcurrency() {
        return flow.perKeyConcurrency();
    }

    public RateLimit rateLimit() {
        return flow.rateLimit();
    }

    public RateLimit perKeyRateLimit() {
        return flow.perKeyRateLimit();
    }
}
