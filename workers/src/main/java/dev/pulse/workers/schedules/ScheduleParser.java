package dev.pulse.workers.schedules;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.agents.AgentFileLoader;
import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.executors.http.EgressPolicy;
import dev.pulse.workers.json.FieldChecks;
import dev.pulse.workers.json.FieldError;
import dev.pulse.workers.schedules.ScheduleDefinition.Misfire;
import dev.pulse.workers.schedules.ScheduleDefinition.Overlap;
import java.time.DateTimeException;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
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

    public ScheduleParser(ObjectMapper json, AgentRegistry agents, EgressPolicy egress) {
        this.json = json;
        this.agents = agents;
        this.egress = egress;
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
        JsonNode cronNode = root.get("cron");
        if (cronNode == null || !cronNode.isTextual()) {
            errors.add(
                    new FieldError(
                            "cron",
                            "is required: a string such as \"*/15 * * * *\", \"0 30 2 * * ?\" or \"@daily\""));
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
            try {
                zone = ZoneId.of(tz.asText());
                if (!tz.isTextual()) {
                    throw new DateTimeException("not a string");
                }
            } catch (DateTimeException e) {
                errors.add(
                        new FieldError(
                                "timezone",
                                "must be an IANA time zone such as Europe/Berlin or America/New_York"));
            }
        }
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
                        dst),
                List.of());
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
