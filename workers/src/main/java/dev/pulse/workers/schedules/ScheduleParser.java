package dev.pulse.workers.schedules;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.agents.AgentFileLoader;
import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.executors.agents.Durations;
import dev.pulse.executors.http.EgressPolicy;
import dev.pulse.workers.json.FieldChecks;
import dev.pulse.workers.json.FieldError;
import dev.pulse.workers.schedules.ScheduleDefinition.Misfire;
import dev.pulse.workers.schedules.ScheduleDefinition.Overlap;
import dev.pulse.workers.times.WhenParser;
import dev.pulse.workers.times.Zones;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Validates a schedule definition, from the API ({@code POST/PUT /v1/schedules}) or a schedule file
 * ({@code spec} of a {@code kind: Schedule} document), reporting every bad field; the API turns the
 * errors into problem+json, {@link ScheduleFiles} into lines naming file and field.
 */
public final class ScheduleParser {

    static final Set<String> FIELDS =
            new TreeSet<>(
                    Set.of(
                            "name",
                            "cron",
                            "every",
                            "times",
                            "start_at",
                            "until",
                            "timezone",
                            "agent",
                            "input",
                            "metadata",
                            "callback_url",
                            "misfire",
                            "catch_up_max",
                            "overlap",
                            "enabled",
                            "dst"));
    static final int DEFAULT_CATCH_UP_MAX = 10;

    /** A parsed schedule, or the problems that kept it from parsing. */
    public record Parsed(ScheduleDefinition schedule, List<FieldError> errors) {}

    private final ObjectMapper json;
    private final AgentRegistry agents;
    private final EgressPolicy egress;
    private final WhenParser times;

    /**
     * @param clock what "now" is when {@code start_at} or {@code until} is a phrase such as {@code
     *     tomorrow 9am}
     */
    public ScheduleParser(
            ObjectMapper json, AgentRegistry agents, EgressPolicy egress, Clock clock) {
        this.json = json;
        this.agents = agents;
        this.egress = egress;
        this.times = new WhenParser(clock);
    }

    /**
     * @param nameFromPath the name in the URL or file ({@code metadata.name}); when the body also
     *     has a name they must be equal
     */
    public Parsed parse(JsonNode root, String nameFromPath) {
        List<FieldError> errors = new ArrayList<>();
        FieldChecks.noUnknownFields(root, FIELDS, "", errors);
        String name = name(root.get("name"), nameFromPath, errors);
        CronSpec cron = null;
        Interval every = null;
        JsonNode cronNode = root.get("cron");
        JsonNode everyNode = root.get("every");
        boolean hasCron = cronNode != null && !cronNode.isNull();
        boolean hasEvery = everyNode != null && !everyNode.isNull();
        if (hasCron && hasEvery) {
            errors.add(new FieldError("every", "give either cron or every, not both"));
        } else if (hasEvery) {
            try {
                if (!everyNode.isTextual()) {
                    throw new IllegalArgumentException(
                            "must be a duration such as "
                                    + Durations.FORMS
                                    + ", got "
                                    + FieldChecks.kind(everyNode));
                }
                every = Interval.parse(everyNode.asText());
            } catch (IllegalArgumentException e) {
                errors.add(new FieldError("every", e.getMessage()));
            }
        } else if (cronNode == null || !cronNode.isTextual()) {
            errors.add(
                    new FieldError(
                            "cron",
                            "is required (or every): a string such as \"*/15 * * * *\", \"0 30 2 * * ?\" or \"@daily\""));
        } else {
            try {
                cron = CronSpec.parse(cronNode.asText());
            } catch (IllegalArgumentException e) {
                errors.add(new FieldError("cron", e.getMessage()));
            }
        }
        ZoneId zone = ZoneId.of("UTC");
        JsonNode tz = root.get("timezone");
        if (tz != null && !tz.isNull()) {
            Optional<ZoneId> parsed = tz.isTextual() ? Zones.parse(tz.asText()) : Optional.empty();
            if (parsed.isEmpty()) {
                errors.add(new FieldError("timezone", Zones.MESSAGE));
            } else {
                zone = parsed.get();
            }
        }
        Bounds bounds = bounds(root, zone, errors);
        String agent = agent(root.get("agent"), errors);
        JsonNode input = FieldChecks.object(root, "input", json.createObjectNode(), errors);
        JsonNode metadata = FieldChecks.object(root, "metadata", json.createObjectNode(), errors);
        String callbackUrl =
                FieldChecks.callbackUrl(root.get("callback_url"), "callback_url", egress, errors);
        Misfire misfire =
                choice(root.get("misfire"), "misfire", Misfire.class, Misfire.SKIP, errors);
        Overlap overlap =
                choice(root.get("overlap"), "overlap", Overlap.class, Overlap.ALLOW, errors);
        int catchUpMax = DEFAULT_CATCH_UP_MAX;
        JsonNode max = root.get("catch_up_max");
        if (max != null && !max.isNull()) {
            if (!max.isIntegralNumber()
                    || !max.canConvertToInt()
                    || max.asInt() < 1
                    || max.asInt() > 1000) {
                errors.add(new FieldError("catch_up_max", "must be an integer from 1 to 1000"));
            } else {
                catchUpMax = max.asInt();
            }
        }
        boolean enabled = true;
        JsonNode enabledNode = root.get("enabled");
        if (enabledNode != null && !enabledNode.isNull()) {
            if (!enabledNode.isBoolean()) {
                errors.add(new FieldError("enabled", "must be true or false"));
            } else {
                enabled = enabledNode.asBoolean();
            }
        }
        DstPolicy dst = dst(root.get("dst"), errors);
        if (!errors.isEmpty()) {
            return new Parsed(null, errors);
        }
        return new Parsed(
                new ScheduleDefinition(
                        name,
                        cron,
                        zone,
                        agent,
                        input,
                        metadata,
                        callbackUrl,
                        misfire,
                        catchUpMax,
                        overlap,
                        enabled,
                        dst,
                        every,
                        bounds),
                List.of());
    }

    /**
     * {@code start_at} and {@code until}: RFC 3339 or a phrase read in the schedule's zone, past
     * times allowed (a start in the past only sets the phase of interval ticks); {@code times}.
     */
    private Bounds bounds(JsonNode root, ZoneId zone, List<FieldError> errors) {
        Instant startAt = instant(root.get("start_at"), "start_at", zone, errors);
        Instant until = instant(root.get("until"), "until", zone, errors);
        if (startAt != null && until != null && !until.isAfter(startAt)) {
            errors.add(new FieldError("until", "must be after start_at"));
        }
        Integer count = null;
        JsonNode node = root.get("times");
        if (node != null && !node.isNull()) {
            if (!node.isIntegralNumber()
                    || !node.canConvertToInt()
                    || node.asInt() < 1
                    || node.asInt() > Bounds.MAX_TIMES) {
                errors.add(
                        new FieldError(
                                "times", "must be an integer from 1 to " + Bounds.MAX_TIMES));
            } else {
                count = node.asInt();
            }
        }
        return new Bounds(startAt, until, count);
    }

    private Instant instant(JsonNode node, String field, ZoneId zone, List<FieldError> errors) {
        if (node == null || node.isNull()) {
            return null;
        }
        try {
            if (!node.isTextual()) {
                throw new IllegalArgumentException("must be " + WhenParser.FORMS);
            }
            return times.parseAnyTime(node.asText(), zone).instant(times.now());
        } catch (IllegalArgumentException e) {
            errors.add(new FieldError(field, e.getMessage()));
            return null;
        }
    }

    private static String name(JsonNode node, String fromPath, List<FieldError> errors) {
        String fromBody = node == null || node.isNull() ? null : node.asText();
        if (node != null && !node.isNull() && !node.isTextual()) {
            errors.add(new FieldError("name", "must be a string"));
            return null;
        }
        if (fromPath != null && fromBody != null && !fromPath.equals(fromBody)) {
            errors.add(
                    new FieldError(
                            "name", "differs from the name in the path ('" + fromPath + "')"));
            return null;
        }
        String name = fromPath != null ? fromPath : fromBody;
        if (name == null || !AgentFileLoader.NAME.matcher(name).matches()) {
            errors.add(
                    new FieldError(
                            "name",
                            "must be 1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit"));
            return null;
        }
        return name;
    }

    private String agent(JsonNode node, List<FieldError> errors) {
        if (node == null || !node.isTextual()) {
            errors.add(
                    new FieldError("agent", "is required: the name of the agent each tick runs"));
            return null;
        }
        if (agents.find(node.asText()).isEmpty()) {
            errors.add(new FieldError("agent", FieldChecks.unknownAgent(node.asText(), agents)));
            return null;
        }
        return node.asText();
    }

    /**
     * {@code {"gap": "run_after" | "skip", "repeat": "first" | "second"}}, either member optional.
     */
    private static DstPolicy dst(JsonNode node, List<FieldError> errors) {
        if (node == null || node.isNull()) {
            return DstPolicy.DEFAULT;
        }
        if (!node.isObject()) {
            errors.add(
                    new FieldError(
                            "dst",
                            "must be an object such as {\"gap\": \"run_after\", \"repeat\": \"first\"}"));
            return DstPolicy.DEFAULT;
        }
        FieldChecks.noUnknownFields(node, Set.of("gap", "repeat"), "dst.", errors);
        return new DstPolicy(
                choice(
                        node.get("gap"),
                        "dst.gap",
                        DstPolicy.Gap.class,
                        DstPolicy.DEFAULT.gap(),
                        errors),
                choice(
                        node.get("repeat"),
                        "dst.repeat",
                        DstPolicy.Repeat.class,
                        DstPolicy.DEFAULT.repeat(),
                        errors));
    }

    private static <E extends Enum<E>> E choice(
            JsonNode node, String field, Class<E> type, E fallback, List<FieldError> errors) {
        if (node == null || node.isNull()) {
            return fallback;
        }
        String value = node.asText("").toUpperCase(Locale.ROOT);
        for (E option : type.getEnumConstants()) {
            if (node.isTextual() && option.name().equals(value)) {
                return option;
            }
        }
        errors.add(
                new FieldError(
                        field,
                        "must be one of "
                                + String.join(
                                        ", ",
                                        Arrays.stream(type.getEnumConstants())
                                                .map(ScheduleDefinition::wire)
                                                .toList())));
        return fallback;
    }
}
