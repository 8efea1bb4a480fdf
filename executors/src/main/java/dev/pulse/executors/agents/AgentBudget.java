package dev.pulse.executors.agents;

import java.math.BigDecimal;

/**
 * What an agent may spend per day ({@code spec.budget}): {@code tokensPerDay} tokens, {@code
 * costUsdPerDay} dollars at the configured prices; each null when not set. Once spent, its runs
 * wait in the queue until the day renews.
 */
public record AgentBudget(Long tokensPerDay, BigDecimal costUsdPerDay) {}
