package dev.pulse.executors.agents;

import java.math.BigDecimal;

/**
 * What an agent may spend per day ({@code spec.budget}): {@code tokensPerDay} tokens, {@code
 * costUsdPerDay} dollars at the configured prices; each null when not set. Once spent, its runs
 * wait in the queue until the day renews. {@code tokensPerMinute} ({@code spec.tokens_per_minute})
 * is the same over a sliding minute. {@code perKey} ({@code spec.budget.per_key}, null for none) is
 * what each concurrency key of the agent may spend per day: once a key's is spent, only that key's
 * runs wait.
 */
public record AgentBudget(
        Long tokensPerDay, BigDecimal costUsdPerDay, Long tokensPerMinute, AgentBudget perKey) {

    public AgentBudget(Long tokensPerDay, BigDecimal costUsdPerDay) {
        this(tokensPerDay, costUsdPerDay, null, null);
    }

    public AgentBudget(Long tokensPerDay, BigDecimal costUsdPerDay, Long tokensPerMinute) {
        this(tokensPerDay, costUsdPerDay, tokensPerMinute, null);
    }

    /** True if a daily limit of the agent as a whole is set. */
    public boolean daily() {
        return tokensPerDay != null || costUsdPerDay != null;
    }

    /** This budget with {@code tokensPerMinute}. */
    public AgentBudget withTokensPerMinute(Long tokensPerMinute) {
        return new AgentBudget(tokensPerDay, costUsdPerDay, tokensPerMinute, perKey);
    }
}
