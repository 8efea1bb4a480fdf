package dev.pulse.executors.agents;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Reads an agent's {@code per_key_concurrency}, {@code rate_limit} and {@code per_key_rate_limit}
 * from its spec, adding a problem naming the path of each bad value.
 */
final class FlowLimitsParser {

    /** The spec keys this parser reads. */
    static final List<String> KEYS =
            List.of(
                    "per_key_concurrency",
                    "rate_limit",
                    "per_key_rate_limit",
                    "budget",
                    "requests_per_minute",
                    "tokens_per_minute");

    static final int MAX_LIMIT = 1_000_000;
    static final Duration MAX_PERIOD = Duration.ofDays(1);

    private FlowLimitsParser() {}

    static FlowLimits parse(JsonNode spec, List<String> problems) {
        Integer perKey = null;
        if (spec.has("per_key_concurrency")) {
            JsonNode n = spec.get("per_key_concurrency");
            if (!n.isIntegralNumber() || n.asLong() < 1 || n.asLong() > 100_000) {
                problems.add(
                        "spec.per_key_concurrency: must be an integer from 1 to 100000 (leave it out for no limit)");
            } else {
                perKey = n.asInt();
            }
        }
        RateLimit rate = rateLimit(spec, "rate_limit", problems);
        RateLimit perMinute = requestsPerMinute(spec, problems);
        if (perMinute != null && rate != null) {
            problems.add(
                    "spec.requests_per_minute: give either rate_limit or requests_per_minute, not both");
        } else if (perMinute != null) {
            rate = perMinute;
        }
        RateLimit perKeyRate = rateLimit(spec, "per_key_rate_limit", problems);
        AgentBudget budget = budget(spec, problems);
        Long perMinuteTokens = tokensPerMinute(spec, problems);
        if (perMinuteTokens != null) {
            budget =
                    budget == null
                            ? new AgentBudget(null, null, perMinuteTokens)
                            : budget.withTokensPerMinute(perMinuteTokens);
        }
        return perKey == null && rate == null && perKeyRate == null && budget == null
                ? FlowLimits.NONE
                : new FlowLimits(perKey, rate, perKeyRate, budget);
    }

    /**
     * {@code spec.requests_per_minute: N} of an {@code llm} agent: the same as {@code rate_limit:
     * {limit: N, period: 1m}} (starts in any sliding minute, on every node).
     */
    private static RateLimit requestsPerMinute(JsonNode spec, List<String> problems) {
        if (!spec.has("requests_per_minute") || spec.get("requests_per_minute").isNull()) {
            return null;
        }
        JsonNode n = spec.get("requests_per_minute");
        if (!"llm".equals(spec.path("executor").asText())) {
            problems.add(
                    "spec.requests_per_minute: is for llm agents; use rate_limit: {limit: N, period: 1m}");
            return null;
        }
        if (!n.isIntegralNumber() || n.asLong() < 1 || n.asLong() > MAX_LIMIT) {
            problems.add(
                    "spec.requests_per_minute: must be an integer from 1 to "
                            + MAX_LIMIT
                            + "; got "
                            + n);
            return null;
        }
        return new RateLimit(n.asInt(), Duration.ofMinutes(1));
    }

    /** {@code spec.tokens_per_minute: N} of an {@code llm} agent. */
    private static Long tokensPerMinute(JsonNode spec, List<String> problems) {
        if (!spec.has("tokens_per_minute") || spec.get("tokens_per_minute").isNull()) {
            return null;
        }
        JsonNode n = spec.get("tokens_per_minute");
        if (!"llm".equals(spec.path("executor").asText())) {
            problems.add(
                    "spec.tokens_per_minute: only llm agents report the tokens it counts; executor "
                            + spec.path("executor").asText("(none)")
                            + " does not");
            return null;
        }
        if (!n.isIntegralNumber() || !n.canConvertToLong() || n.asLong() < 1) {
            problems.add("spec.tokens_per_minute: must be a positive integer; got " + n);
            return null;
        }
        return n.asLong();
    }

    /**
     * {@code spec.budget: {tokens_per_day, cost_usd_per_day, per_key: {tokens_per_day,
     * cost_usd_per_day}}}, only for agents that report usage ({@code llm}).
     */
    private static AgentBudget budget(JsonNode spec, List<String> problems) {
        if (!spec.has("budget") || spec.get("budget").isNull()) {
            return null;
        }
        JsonNode node = spec.get("budget");
        if (!"llm".equals(spec.path("executor").asText())) {
            problems.add(
                    "spec.budget: only llm agents report the usage a budget counts; executor "
                            + spec.path("executor").asText("(none)")
                            + " does not");
            return null;
        }
        int before = problems.size();
        AgentBudget perKey = null;
        if (node.isObject() && node.has("per_key") && !node.get("per_key").isNull()) {
            perKey = daily(node.get("per_key"), "spec.budget.per_key", Set.of(), problems);
        }
        AgentBudget whole = daily(node, "spec.budget", Set.of("per_key"), problems);
        if (problems.size() > before) {
            return null;
        }
        return new AgentBudget(whole.tokensPerDay(), whole.costUsdPerDay(), null, perKey);
    }

    /**
     * {@code {tokens_per_day, cost_usd_per_day}} at {@code path} (besides the fields {@code also});
     * at least one of the two unless a field of {@code also} is set.
     */
    private static AgentBudget daily(
            JsonNode node, String path, Set<String> also, List<String> problems) {
        if (!node.isObject()) {
            problems.add(path + ": must be a mapping with tokens_per_day and/or cost_usd_per_day");
            return null;
        }
        int before = problems.size();
        node.fieldNames()
                .forEachRemaining(
                        f -> {
                            if (!f.equals("tokens_per_day")
                                    && !f.equals("cost_usd_per_day")
                                    && !also.contains(f)) {
                                problems.add(
                                        path
                                                + "."
                                                + f
                                                + ": unknown setting; use tokens_per_day and cost_usd_per_day"
                                                + (also.isEmpty()
                                                        ? ""
                                                        : " (and "
                                                                + String.join(", ", also)
                                                                + ")"));
                            }
                        });
        Long tokens = null;
        if (node.has("tokens_per_day")) {
            JsonNode t = node.get("tokens_per_day");
            if (!t.isIntegralNumber() || !t.canConvertToLong() || t.asLong() < 1) {
                problems.add(path + ".tokens_per_day: must be a positive integer; got " + t);
            } else {
                tokens = t.asLong();
            }
        }
        java.math.BigDecimal cost = null;
        if (node.has("cost_usd_per_day")) {
            JsonNode c = node.get("cost_usd_per_day");
            if (!c.isNumber() || c.decimalValue().signum() <= 0) {
                problems.add(path + ".cost_usd_per_day: must be a positive number; got " + c);
            } else {
                cost = c.decimalValue();
            }
        }
        boolean other = also.stream().anyMatch(f -> node.has(f) && !node.get(f).isNull());
        if (problems.size() == before && tokens == null && cost == null && !other) {
            problems.add(
                    path
                            + ": set tokens_per_day and/or cost_usd_per_day"
                            + (also.isEmpty() ? "" : " (or " + String.join(", ", also) + ")"));
        }
        return problems.size() > before ? null : new AgentBudget(tokens, cost);
    }

    private static RateLimit rateLimit(JsonNode spec, String key, List<String> problems) {
        if (!spec.has(key) || spec.get(key).isNull()) {
            return null;
        }
        String path = "spec." + key;
        JsonNode node = spec.get(key);
        if (!node.isObject()) {
            problems.add(
                    path
                            + ": must be a mapping with limit and period, e.g. {limit: 5, period: 1s}");
            return null;
        }
        int before = problems.size();
        node.fieldNames()
                .forEachRemaining(
                        f -> {
                            if (!f.equals("limit") && !f.equals("period")) {
                                problems.add(
                                        path + "." + f + ": unknown setting; use limit and period");
                            }
                        });
        JsonNode limit = node.path("limit");
        if (!limit.isIntegralNumber() || limit.asLong() < 1 || limit.asLong() > MAX_LIMIT) {
            problems.add(
                    path
                            + ".limit: must be an integer from 1 to "
                            + MAX_LIMIT
                            + (limit.isMissingNode() ? "" : "; got " + limit));
        }
        JsonNode period = node.path("period");
        Optional<Duration> parsed =
                period.isTextual() ? Durations.parse(period.asText()) : Optional.empty();
        if (parsed.isEmpty() || parsed.get().isZero() || parsed.get().compareTo(MAX_PERIOD) > 0) {
            problems.add(
                    path
                            + ".period: must be a duration from 1ms to 1d such as 500ms, 1s, 1m or 1h"
                            + (period.isMissingNode() ? "" : "; got " + period));
        }
        return problems.size() > before ? null : new RateLimit(limit.asInt(), parsed.get());
    }
}
