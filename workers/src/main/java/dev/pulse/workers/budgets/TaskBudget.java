package dev.pulse.workers.budgets;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.executors.agents.Durations;
import dev.pulse.workers.json.FieldChecks;
import dev.pulse.workers.json.FieldError;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * What one run of a task may spend ({@code budget} of a task): at most {@code maxTokens} tokens
 * (input and output), {@code maxCostUsd} dollars at the configured prices, {@code maxDuration} of
 * running. Each null when not set. A run that goes over fails with {@code budget_exceeded}, its
 * usage and result kept; it is not retried.
 */
public record TaskBudget(Long maxTokens, BigDecimal maxCostUsd, Duration maxDuration) {

    private static final Set<String> FIELDS = Set.of("max_tokens", "max_cost_usd", "max_duration");

    /**
     * The budget at {@code path} of a request, validated (errors name {@code path.field}); null
     * when absent or invalid.
     */
    public static JsonNode parse(JsonNode field, String path, List<FieldError> errors) {
        if (field == null || field.isNull()) {
            return null;
        }
        if (!field.isObject()) {
            errors.add(new FieldError(path, "must be an object, got " + FieldChecks.kind(field)));
            return null;
        }
        int before = errors.size();
        FieldChecks.noUnknownFields(field, FIELDS, path + ".", errors);
        ObjectNode budget = JsonNodeFactory.instance.objectNode();
        JsonNode tokens = field.get("max_tokens");
        if (tokens != null && !tokens.isNull()) {
            if (!tokens.canConvertToLong() || !tokens.isIntegralNumber() || tokens.asLong() < 1) {
                errors.add(new FieldError(path + ".max_tokens", "must be a positive integer"));
            } else {
                budget.put("max_tokens", tokens.asLong());
            }
        }
        JsonNode cost = field.get("max_cost_usd");
        if (cost != null && !cost.isNull()) {
            if (!cost.isNumber() || cost.decimalValue().signum() <= 0) {
                errors.add(new FieldError(path + ".max_cost_usd", "must be a positive number"));
            } else {
                budget.put("max_cost_usd", cost.decimalValue());
            }
        }
        JsonNode duration = field.get("max_duration");
        if (duration != null && !duration.isNull()) {
            if (!duration.isTextual()
                    || Durations.parse(duration.asText()).filter(d -> !d.isZero()).isEmpty()) {
                errors.add(
                        new FieldError(
                                path + ".max_duration",
                                "must be a duration such as 500ms, 30s, 5m or 2h"));
            } else {
                budget.put("max_duration", duration.asText());
            }
        }
        if (errors.size() > before) {
            return null;
        }
        if (budget.isEmpty()) {
            errors.add(
                    new FieldError(
                            path,
                            "must set at least one of max_tokens, max_cost_usd, max_duration"));
            return null;
        }
        return budget;
    }

    /** The budget as stored (what {@link #parse} returned); null for none. */
    public static TaskBudget of(JsonNode stored) {
        if (stored == null || !stored.isObject()) {
            return null;
        }
        return new TaskBudget(
                stored.hasNonNull("max_tokens") ? stored.get("max_tokens").asLong() : null,
                stored.hasNonNull("max_cost_usd")
                        ? stored.get("max_cost_usd").decimalValue()
                        : null,
                stored.hasNonNull("max_duration")
                        ? Durations.parse(stored.get("max_duration").asText()).orElse(null)
                        : null);
    }
}
