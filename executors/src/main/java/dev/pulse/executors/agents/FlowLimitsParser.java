package dev.pulse.executors.agents;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Reads an agent's {@code per_key_concurrency}, {@code rate_limit} and {@code per_key_rate_limit}
 * from its spec, adding a problem naming the path of each bad value.
 */
final class FlowLimitsParser {

    /** The spec keys this parser reads. */
    static final List<String> KEYS =
            List.of("per_key_concurrency", "rate_limit", "per_key_rate_limit");

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
        RateLimit perKeyRate = rateLimit(spec, "per_key_rate_limit", problems);
        return perKey == null && rate == null && perKeyRate == null
                ? FlowLimits.NONE
                : new FlowLimits(perKey, rate, perKeyRate);
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
