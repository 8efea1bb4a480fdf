package dev.pulse.server.api.tasks;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.TraceContext;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.executors.agents.Durations;
import dev.pulse.executors.http.EgressPolicy;
import dev.pulse.server.api.Problem;
import dev.pulse.server.api.ProblemException;
import dev.pulse.workers.budgets.TaskBudget;
import dev.pulse.workers.json.FieldChecks;
import dev.pulse.workers.json.FieldError;
import dev.pulse.workers.tasks.NewTask;
import dev.pulse.workers.times.When;
import dev.pulse.workers.times.WhenParser;
import dev.pulse.workers.times.Zones;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Turns a {@code POST /v1/tasks} body into a {@link NewTask}, or a problem naming every field that
 * is wrong. Malformed JSON is a 400; well-formed JSON with bad values is a 422.
 */
public final class TaskRequestParser {

    static final Set<String> FIELDS =
            new TreeSet<>(
                    Set.of(
                            "agent",
                            "input",
                            "callback_url",
                            "run_at",
                            "timezone",
                            "delay",
                            "delay_seconds",
                            "priority",
                            "max_attempts",
                            "timeout_seconds",
                            "metadata",
                            "idempotency_key",
                            "concurrency_key",
                            "budget",
                            "retry"));
    static final Set<String> RETRY_FIELDS = new TreeSet<>(Set.of("base_seconds", "max_seconds"));
    static final int MAX_IDEMPOTENCY_KEY = 255;

    /** Largest {@code input} and {@code metadata}, each, as JSON. */
    public static final int MAX_FIELD_BYTES = 256 * 1024;

    static final BigDecimal MAX_RETRY_SECONDS = BigDecimal.valueOf(24L * 24 * 3600);
    static final int MIN_PRIORITY = -1000;
    static final int MAX_PRIORITY = 1000;
    static final int MAX_ATTEMPTS = 100;
    static final int MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;
    static final BigDecimal MAX_DELAY_SECONDS = BigDecimal.valueOf(366L * 24 * 3600);

    private final ObjectMapper json;
    private final AgentRegistry agents;
    private final EgressPolicy egress;
    private final WhenParser times;

    /**
     * @param clock what "now" is when {@code run_at} is a phrase such as {@code tomorrow 9am}
     */
    public TaskRequestParser(
            ObjectMapper json, AgentRegistry agents, EgressPolicy egress, Clock clock) {
        this.json = json;
        this.agents = agents;
        this.egress = egress;
        this.times = new WhenParser(clock);
    }

    /**
     * Parses one task given as a JSON object; throws a problem naming every bad field.
     *
     * @param idempotencyHeader the {@code Idempotency-Key} header, or null; it may be given instead
     *     of the {@code idempotency_key} field, or as well if equal
     * @param trace the W3C context of the request that brings it
     */
    public NewTask parse(JsonNode root, String idempotencyHeader, TraceContext trace) {
        if (root == null || !root.isObject()) {
            throw new ProblemException(Problem.invalid(422, "task", "must be a JSON object"));
        }
        if (FieldChecks.containsNul(root)) {
            throw new ProblemException(
                    Problem.invalid(
                            422,
                            "task",
                            "JSON strings must not contain the NUL character (\\u0000); PostgreSQL cannot store it"));
        }
        List<FieldError> errors = new ArrayList<>();
        FieldChecks.noUnknownFields(root, FIELDS, "", errors);
        AgentDefinition agent = agent(root.get("agent"), errors);
        JsonNode input = FieldChecks.object(root, "input", json.createObjectNode(), errors);
        JsonNode metadata = FieldChecks.object(root, "metadata", json.createObjectNode(), errors);
        String callbackUrl =
                FieldChecks.callbackUrl(root.get("callback_url"), "callback_url", egress, errors);
        ZoneId zone = zone(root.get("timezone"), errors);
        When when = runAt(root.get("run_at"), zone, errors);
        BigDecimal delay = delay(root.get("delay_seconds"), errors);
        BigDecimal delayText = delayText(root.get("delay"), errors);
        if (delay != null && delayText != null) {
            errors.add(new FieldError("delay", "give either delay or delay_seconds, not both"));
        }
        delay = delay != null ? delay : delayText;
        if (when != null && delay != null) {
            errors.add(
                    new FieldError(
                            root.has("delay_seconds") ? "delay_seconds" : "delay",
                            "give either run_at or a delay, not both"));
        }
        Instant runAt = null;
        if (when instanceof When.At at) {
            runAt = at.at();
        } else if (when instanceof When.After after) {
            // A span is counted by the database clock, as delay_seconds is.
            delay = seconds(after.delay(), "run_at", errors);
        }
        int priority = integer(root, "priority", MIN_PRIORITY, MAX_PRIORITY, 0, errors);
        int maxAttempts =
                integer(
                        root,
                        "max_attempts",
                        1,
                        MAX_ATTEMPTS,
                        agent == null ? 1 : agent.maxAttempts(),
                        errors);
        int timeout =
                integer(
                        root,
                        "timeout_seconds",
                        1,
                        MAX_TIMEOUT_SECONDS,
                        agent == null
                                ? 1
                                : (int) Math.max(1, (agent.timeout().toMillis() + 999) / 1000),
                        errors);
        String idempotencyKey =
                idempotencyKey(root.get("idempotency_key"), idempotencyHeader, errors);
        long[] retry = retry(root.get("retry"), agent, errors);
        String concurrencyKey = concurrencyKey(root.get("concurrency_key"), errors);
        JsonNode budget = TaskBudget.parse(root.get("budget"), "budget", errors);
        List<FieldError> tooLarge = new ArrayList<>();
        tooLarge(input, "input", tooLarge);
        tooLarge(metadata, "metadata", tooLarge);
        if (!tooLarge.isEmpty()) {
            throw new ProblemException(Problem.invalid(413, tooLarge));
        }
        if (!errors.isEmpty()) {
            throw new ProblemException(Problem.invalid(422, errors));
        }
        return NewTask.builder(agent.name(), input, metadata)
                .callbackUrl(callbackUrl)
                .runAt(runAt)
                .delaySeconds(delay)
                .priority(priority)
                .maxAttempts(maxAttempts)
                .timeoutSeconds(timeout)
                .retry(retry[0], retry[1])
                .idempotencyKey(idempotencyKey)
                .concurrencyKey(concurrencyKey)
                .budget(budget)
                .trace(trace)
                .build();
    }

    /**
     * Whose task it is (a tenant, a customer): 1 to {@link NewTask#MAX_CONCURRENCY_KEY} characters,
     * none of them a control character; null when absent.
     */
    private static String concurrencyKey(JsonNode field, List<FieldError> errors) {
        if (field == null || field.isNull()) {
            return null;
        }
        if (!field.isTextual()) {
            errors.add(
                    new FieldError(
                            "concurrency_key", "must be a string, got " + FieldChecks.kind(field)));
            return null;
        }
        String key = field.asText();
        int length = key.codePointCount(0, key.length());
        if (length < 1 || length > NewTask.MAX_CONCURRENCY_KEY) {
            errors.add(
                    new FieldError(
                            "concurrency_key",
                            "must be 1 to "
                                    + NewTask.MAX_CONCURRENCY_KEY
                                    + " characters, got "
                                    + length));
            return null;
        }
        if (key.codePoints().anyMatch(Character::isISOControl)) {
            errors.add(new FieldError("concurrency_key", "must not contain control characters"));
            return null;
        }
        return key;
    }

    private void tooLarge(JsonNode value, String field, List<FieldError> errors) {
        if (sizeBound(value, MAX_FIELD_BYTES) <= MAX_FIELD_BYTES) {
            // Writing the value out only to count its bytes was a tenth of a small POST's handling.
            return;
        }
        try {
            int size = json.writeValueAsBytes(value).length;
            if (size > MAX_FIELD_BYTES) {
                errors.add(
                        new FieldError(
                                field,
                                "is "
                                        + size
                                        + " bytes as JSON; the limit is "
                                        + MAX_FIELD_BYTES
                                        + " bytes: store large data elsewhere and pass a reference"));
            }
        } catch (JsonProcessingException e) {
            errors.add(new FieldError(field, "cannot be written as JSON"));
        }
    }

    /**
     * An upper bound of {@code value}'s size written as JSON, in bytes, without writing it: every
     * character of a string or a name counted as the longest it can become (a six-byte escape),
     * numbers as their text. Stops counting once past {@code limit}.
     */
    static long sizeBound(JsonNode value, long limit) {
        if (value.isTextual()) {
            return 2 + 6L * value.textValue().length();
        }
        if (value.isNumber()) {
            return value.asText().length();
        }
        if (value.isBoolean() || value.isNull()) {
            return 5;
        }
        if (value.isObject()) {
            long size = 2;
            for (var fields = value.fields(); fields.hasNext() && size <= limit; ) {
                var field = fields.next();
                size += 2 + 6L * field.getKey().length() + 2 + sizeBound(field.getValue(), limit);
            }
            return size;
        }
        if (value.isArray()) {
            long size = 2;
            for (int i = 0; i < value.size() && size <= limit; i++) {
                size += 1 + sizeBound(value.get(i), limit);
            }
            return size;
        }
        return Long.MAX_VALUE; // not a parsed JSON value (binary, a Java object): write it out
    }

    private static String idempotencyKey(JsonNode field, String header, List<FieldError> errors) {
        String fromField = null;
        if (field != null && !field.isNull()) {
            if (!field.isTextual()) {
                errors.add(
                        new FieldError(
                                "idempotency_key",
                                "must be a string, got " + FieldChecks.kind(field)));
                return null;
            }
            fromField = field.asText();
        }
        if (header != null && fromField != null && !header.equals(fromField)) {
            errors.add(
                    new FieldError(
                            "idempotency_key",
                            "differs from the Idempotency-Key header; send one or make them equal"));
            return null;
        }
        String key = fromField != null ? fromField : header;
        if (key != null && (key.isEmpty() || key.length() > MAX_IDEMPOTENCY_KEY)) {
            errors.add(
                    new FieldError(
                            fromField != null ? "idempotency_key" : "Idempotency-Key",
                            "must be 1 to " + MAX_IDEMPOTENCY_KEY + " characters"));
            return null;
        }
        return key;
    }

    /** The retry backoff bounds in milliseconds, {base, max}: the task's, else the agent's. */
    private static long[] retry(JsonNode node, AgentDefinition agent, List<FieldError> errors) {
        long base = agent == null ? 0 : agent.retryBase().toMillis();
        long max = agent == null ? 0 : agent.retryMax().toMillis();
        if (node == null || node.isNull()) {
            return new long[] {base, max};
        }
        if (!node.isObject()) {
            errors.add(
                    new FieldError(
                            "retry",
                            "must be an object such as {\"base_seconds\": 1, \"max_seconds\": 600}"));
            return new long[] {base, max};
        }
        FieldChecks.noUnknownFields(node, RETRY_FIELDS, "retry.", errors);
        base = seconds(node.get("base_seconds"), "retry.base_seconds", base, errors);
        max = seconds(node.get("max_seconds"), "retry.max_seconds", max, errors);
        if (max < base) {
            errors.add(
                    new FieldError(
                            "retry.max_seconds", "must not be less than retry.base_seconds"));
        }
        return new long[] {base, max};
    }

    private static long seconds(
            JsonNode node, String field, long fallbackMs, List<FieldError> errors) {
        if (node == null || node.isNull()) {
            return fallbackMs;
        }
        if (!node.isNumber()
                || node.decimalValue().signum() < 0
                || node.decimalValue().compareTo(MAX_RETRY_SECONDS) > 0) {
            errors.add(
                    new FieldError(
                            field, "must be a number of seconds from 0 to " + MAX_RETRY_SECONDS));
            return fallbackMs;
        }
        return node.decimalValue().movePointRight(3).longValue();
    }

    private AgentDefinition agent(JsonNode node, List<FieldError> errors) {
        if (node == null || node.isNull()) {
            errors.add(new FieldError("agent", "is required: the name of the agent to run"));
            return null;
        }
        if (!node.isTextual()) {
            errors.add(new FieldError("agent", "must be a string, got " + FieldChecks.kind(node)));
            return null;
        }
        var agent = agents.find(node.asText());
        if (agent.isEmpty()) {
            errors.add(
                    new FieldError(
                            "agent",
                            FieldChecks.unknownAgent(node.asText(), agents)
                                    + " (GET /v1/agents lists them)"));
            return null;
        }
        return agent.get();
    }

    private When runAt(JsonNode node, ZoneId zone, List<FieldError> errors) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            errors.add(new FieldError("run_at", "must be " + WhenParser.FORMS));
            return null;
        }
        try {
            return times.parse(node.asText(), zone == null ? ZoneOffset.UTC : zone);
        } catch (IllegalArgumentException e) {
            errors.add(new FieldError("run_at", e.getMessage()));
            return null;
        }
    }

    /** The zone {@code run_at} phrases are read in: UTC unless given. */
    private static ZoneId zone(JsonNode node, List<FieldError> errors) {
        if (node == null || node.isNull()) {
            return ZoneOffset.UTC;
        }
        var zone =
                node.isTextual() ? Zones.parse(node.asText()) : java.util.Optional.<ZoneId>empty();
        if (zone.isEmpty()) {
            errors.add(new FieldError("timezone", Zones.MESSAGE));
            return null;
        }
        return zone.get();
    }

    /** {@code delay}: a duration such as 90s, 5m, 2h30m, 1d or PT5M, in seconds. */
    private static BigDecimal delayText(JsonNode node, List<FieldError> errors) {
        if (node == null || node.isNull()) {
            return null;
        }
        var parsed =
                node.isTextual()
                        ? Durations.parse(node.asText())
                        : java.util.Optional.<Duration>empty();
        if (parsed.isEmpty()) {
            errors.add(
                    new FieldError(
                            "delay",
                            "must be a duration such as "
                                    + Durations.FORMS
                                    + ", got "
                                    + (node.isTextual()
                                            ? "'" + node.asText() + "'"
                                            : FieldChecks.kind(node))));
            return null;
        }
        return seconds(parsed.get(), "delay", errors);
    }

    private static BigDecimal seconds(Duration delay, String field, List<FieldError> errors) {
        BigDecimal seconds = BigDecimal.valueOf(delay.toMillis()).movePointLeft(3);
        if (seconds.compareTo(MAX_DELAY_SECONDS) > 0) {
            errors.add(new FieldError(field, "must be at most 366 days from now, got " + delay));
            return null;
        }
        return seconds;
    }

    private BigDecimal delay(JsonNode node, List<FieldError> errors) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isNumber()) {
            errors.add(
                    new FieldError(
                            "delay_seconds",
                            "must be a number of seconds, got " + FieldChecks.kind(node)));
            return null;
        }
        BigDecimal value = node.decimalValue();
        if (value.signum() < 0 || value.compareTo(MAX_DELAY_SECONDS) > 0) {
            errors.add(
                    new FieldError(
                            "delay_seconds",
                            "must be from 0 to " + MAX_DELAY_SECONDS + " seconds, got " + value));
            return null;
        }
        return value;
    }

    private static int integer(
            JsonNode root, String field, int min, int max, int fallback, List<FieldError> errors) {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isIntegralNumber()
                || !node.canConvertToInt()
                || node.asInt() < min
                || node.asInt() > max) {
            errors.add(
                    new FieldError(
                            field,
                            "must be an integer from "
                                    + min
                                    + " to "
                                    + max
                                    + ", got "
                                    + (node.isNumber() ? node.asText() : FieldChecks.kind(node))));
            return fallback;
        }
        return node.asInt();
    }
}
