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
import java.util.function.Consumer;

/**
 * Agents' daily budgets ({@code spec.budget}): every run's usage is added to its agent's day (in
 * {@code zone}, {@code PULSE_BUDGET_ZONE}), priced by {@link Prices}; once a day's tokens or cost
 * reach the budget, the agent is held ({@code budget_exhausted}) on every node until the next
 * midnight in {@code zone}. Runs already started finish.
 */
public final class DailyBudgets {

    private final UsageLedger ledger;
    private final AgentHolds holds;
    private final Prices prices;
    private final ZoneId zone;
    private final Clock clock;
    private final Consumer<List<AgentHolds.Begun>> begun;

    public DailyBudgets(
            UsageLedger ledger,
            AgentHolds holds,
            Prices prices,
            ZoneId zone,
            Clock clock,
            Consumer<List<AgentHolds.Begun>> begun) {
        this.ledger = ledger;
        this.holds = holds;
        this.prices = prices;
        this.zone = zone;
        this.clock = clock;
        this.begun = begun;
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
     * Adds a run's {@code usage} ({@code input_tokens}, {@code output_tokens}) to its agent's day
     * and holds the agent if its budget is spent; answers the day's totals, empty if the run
     * reported no usage.
     */
    public Optional<UsageLedger.Totals> record(AgentDefinition agent, JsonNode output) {
        JsonNode usage = output == null ? null : output.get("usage");
        if (usage == null
                || !usage.path("input_tokens").canConvertToLong()
                || !usage.path("output_tokens").canConvertToLong()) {
            return Optional.empty();
        }
        long in = usage.path("input_tokens").asLong();
        long out = usage.path("output_tokens").asLong();
        String model = agent.llm() == null ? null : agent.llm().model();
        UsageLedger.Totals totals =
                ledger.add(agent.name(), today(), in, out, cost(model, in, out));
        AgentBudget budget = agent.flow().budget();
        if (budget != null && budget.tokensPerMinute() != null) {
            UsageLedger.Minute minute = ledger.addToMinute(agent.name(), in + out);
            if (minute.tokens() >= budget.tokensPerMinute()) {
                // Not announced: a minute's window fills and frees all day long.
                holds.hold(
                        List.of(agent.name()),
                        WaitingReason.RATE_LIMITED,
                        minute.frees(),
                        "used "
                                + minute.tokens()
                                + " tokens in the last minute; tokens_per_minute is "
                                + budget.tokensPerMinute());
            }
        }
        if (budget != null && (budget.tokensPerDay() != null || budget.costUsdPerDay() != null)) {
            String spent = spent(budget, totals);
            if (spent != null) {
                List<AgentHolds.Begun> started =
                        holds.hold(
                                List.of(agent.name()),
                                WaitingReason.BUDGET_EXHAUSTED,
                                renewal(),
                                spent);
                if (!started.isEmpty()) {
                    begun.accept(started);
                }
            }
        }
        return Optional.of(totals);
    }

    private static String spent(AgentBudget budget, UsageLedger.Totals totals) {
        if (budget.tokensPerDay() != null && totals.tokens() >= budget.tokensPerDay()) {
            return "used "
                    + totals.tokens()
                    + " tokens today; budget.tokens_per_day is "
                    + budget.tokensPerDay();
        }
        if (budget.costUsdPerDay() != null
                && totals.costUsd().compareTo(budget.costUsdPerDay()) >= 0) {
            return "spent "
                    + totals.costUsd().toPlainString()
                    + " USD today; budget.cost_usd_per_day is "
                    + budget.costUsdPerDay().toPlainString();
        }
        return null;
    }
}
