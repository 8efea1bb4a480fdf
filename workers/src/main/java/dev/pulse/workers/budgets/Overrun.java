package dev.pulse.workers.budgets;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pulse.executors.ExecutionError;
import dev.pulse.executors.ExecutionResult;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.Optional;

/**
 * Whether a run went over its task's {@link TaskBudget}: more tokens than {@code max_tokens} by the
 * usage its result reports ({@code usage.total_tokens}, or input plus output), or cut off at {@code
 * max_duration} (the attempt's timeout was shortened to it), or more dollars than {@code
 * max_cost_usd} at the configured prices.
 */
public final class Overrun {

    private Overrun() {}

    /** The attempt's timeout: the task's, or the budget's {@code max_duration} if shorter. */
    public static Duration timeout(Duration taskTimeout, TaskBudget budget) {
        return budget == null
                        || budget.maxDuration() == null
                        || budget.maxDuration().compareTo(taskTimeout) >= 0
                ? taskTimeout
                : budget.maxDuration();
    }

    /** The tokens a result reports, or null if it reports none. */
    public static Long tokens(JsonNode usage) {
        if (usage == null || usage.isMissingNode()) {
            return null;
        }
        if (usage.path("total_tokens").canConvertToLong()) {
            return usage.path("total_tokens").asLong();
        }
        if (usage.path("input_tokens").canConvertToLong()
                && usage.path("output_tokens").canConvertToLong()) {
            return usage.path("input_tokens").asLong() + usage.path("output_tokens").asLong();
        }
        return null;
    }

    /** The {@code usage} a result reports, or null. */
    public static JsonNode usage(ExecutionResult result) {
        if (result == null || result.output() == null || !result.output().has("usage")) {
            return null;
        }
        JsonNode usage = result.output().get("usage");
        return usage.isObject() ? usage : null;
    }

    /**
     * The {@code budget_exceeded} error if {@code result} went over {@code budget}; empty if not.
     *
     * @param taskTimeout the task's own timeout: a timeout at a shorter {@code max_duration} is the
     *     budget's
     * @param cost what the run's usage cost at the configured prices; null if unpriced
     */
    public static Optional<ExecutionError> of(
            TaskBudget budget, ExecutionResult result, Duration taskTimeout, BigDecimal cost) {
        if (budget == null || result == null) {
            return Optional.empty();
        }
        if (!result.succeeded()
                && result.error() != null
                && ExecutionError.TIMEOUT.equals(result.error().code())
                && !timeout(taskTimeout, budget).equals(taskTimeout)) {
            return Optional.of(
                    new ExecutionError(
                            ExecutionError.BUDGET_EXCEEDED,
                            "the run went over its budget's max_duration of "
                                    + budget.maxDuration().toMillis()
                                    + " ms and was stopped"));
        }
        Long tokens = tokens(usage(result));
        if (budget.maxTokens() != null && tokens != null && tokens > budget.maxTokens()) {
            return Optional.of(
                    new ExecutionError(
                            ExecutionError.BUDGET_EXCEEDED,
                            "the run used "
                                    + tokens
                                    + " tokens; its budget's max_tokens is "
                                    + budget.maxTokens()));
        }
        if (budget.maxCostUsd() != null
                && cost != null
                && cost.compareTo(budget.maxCostUsd()) > 0) {
            return Optional.of(
                    new ExecutionError(
                            ExecutionError.BUDGET_EXCEEDED,
                            "the run cost "
                                    + cost.toPlainString()
                                    + " USD; its budget's max_cost_usd is "
                                    + budget.maxCostUsd().toPlainString()));
        }
        return Optional.empty();
    }
}
