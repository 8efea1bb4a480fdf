package dev.pulse.executors.agents;

import java.math.BigDecimal;

/**
 * What an agent may spend per day ({@code spec.budget}): {@code tokensPerDay} tokens, {@code
 * costUsdPerDay} dollars at the configured prices; each null when not set. Once spent, its runs
 * wait in the queue until the day renews. {@code tokensPerMinute} ({@code spec.tokens_per_minute})
 * is the same over a sliding minute.
 */
public record AgentBudget(Long tokensPerDay, BigDecimal costUsdPerDay, Long tokensPerMinute) {

    public AgentBudget(Long tokensPerDay, BigDecimal costUsdPerDay) {
        this(tokensPerDay, costUsdPerDay, null);
    }
}
