package dev.pulse.workers.budgets;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pulse.executors.agents.AgentBudget;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.workers.flow.AgentHolds;
import dev.pulse.workers.flow.WaitingReason;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.List;
import java.util.Optional;

/**
 * Agents' daily budgets ({@code spec.budget}): every run's usage is added to its agent's day (in
 * {@code zone}, {@code PULSE_BUDGET_ZONE}), priced by {@link Prices}; once a day's tokens or cost
 * reach the budget, the agent is held ({@code budget_exhausted}) on every node until the next
 * midnight in {@code zone}. A keyed task's usage is also added to its key's day; once that reaches
 * the agent's per-key budget ({@code budget.per_key}), only that key is held. Runs already started
 * finish.
 */
public final class DailyBudgets {

    private final UsageLedger ledger;
    private final AgentHolds holds;
    private final Prices prices;
    private final ZoneId zone;
    private final Clock clock;

    public DailyBudgets(
            UsageLedger ledger, AgentHolds holds, Prices prices, ZoneId zone, Clock clock) {
        this.ledger = ledger;
        this.holds = holds;
        this.prices = prices;
        this.zone = zone;
        this.clock = clock;
    }

    /** Today, in the budgets' zone. */
    public LocalDate today() {
        return LocalDate.now(clock.withZone(zone));
    }

    /** When today's budgets renew: the next midnight in the budgets' zone. */
    public Instant renewal() {
        return today().plusDays(1).atStartOfDay(zone).toInstant();
    }

    /** Today's usage of {@code agent}. */
    public Optional<UsageLedger.Totals> usageToday(String agent) {
        return ledger.of(agent, today());
    }

    /** Every agent's usage today, by agent. */
    public java.util.Map<String, UsageLedger.Totals> usageToday() {
        return ledger.of(today());
    }

    /** What {@code model}'s tokens cost, null if the model has no price. */
    public BigDecimal cost(String model, long input, long output) {
        return prices.cost(model, input, output);
    }

    /**
     * Adds a run's {@code usage} ({@code input_tokens}, {@code output_tokens}) to its agent's day,
     * and to its key's day if the task has a {@code concurrencyKey} (null for none), and holds the
     * agent, or the key, whose budget is spent; answers the agent's day, empty if the run reported
     * no usage.
     */
    public Optional<UsageLedger.Totals> record(
            AgentDefinition agent, String concurrencyKey, JsonNode output) {
        JsonNode usage = output == null ? null : output.get("usage");
        if (usage == null
                || !usage.path("input_tokens").canConvertToLong()
                || !usage.path("output_tokens").canConvertToLong()) {
            return Optional.empty();
        }
        long in = usage.path("input_tokens").asLong();
        long out = usage.path("output_tokens").asLong();
        String model = agent.llm() == null ? null : agent.llm().model();
        BigDecimal cost = cost(model, in, out);
        LocalDate day = today();
        UsageLedger.Totals totals = ledger.add(agent.name(), day, in, out, cost);
        AgentBudget budget = agent.flow().budget();
        if (budget != null && budget.daily()) {
            String spent = spent(budget, totals, "budget.");
            if (spent != null) {
                holds.hold(List.of(agent.name()), WaitingReason.BUDGET_EXHAUSTED, renewal(), spent);
            }
        }
        if (concurrencyKey != null) {
            UsageLedger.Totals ofKey =
                    ledger.addForKey(agent.name(), concurrencyKey, day, in, out, cost);
            if (budget != null && budget.perKey() != null) {
                String spent = spent(budget.perKey(), ofKey, "budget.per_key.");
                if (spent != null) {
                    holds.holdKey(
                            agent.name(),
                            concurrencyKey,
                            WaitingReason.BUDGET_EXHAUSTED,
                            renewal(),
                            "key " + concurrencyKey + ": " + spent);
                }
            }
        }
        return Optional.of(totals);
    }

    private static String spent(AgentBudget budget, UsageLedger.Totals totals, String path) {
        if (budget.tokensPerDay() != null && totals.tokens() >= budget.tokensPerDay()) {
            return "used "
                    + totals.tokens()
                    + " tokens today; "
                    + path
                    + "tokens_per_day is "
                    + budget.tokensPerDay();
        }
        if (budget.costUsdPerDay() != null
                && totals.costUsd().compareTo(budget.costUsdPerDay()) >= 0) {
            return "spent "
                    + totals.costUsd().toPlainString()
                    + " USD today; "
                    + path
                    + "cost_usd_per_day is "
                    + budget.costUsdPerDay().toPlainString();
        }
        return null;
    }
}
