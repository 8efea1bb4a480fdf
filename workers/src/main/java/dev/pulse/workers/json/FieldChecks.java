package dev.pulse.workers.json;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.executors.http.EgressPolicy;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Checks shared by the parsers of JSON input (API bodies, schedule definitions); each adds a {@link
 * FieldError} naming the field it rejects.
 */
public final class FieldChecks {

    /** What to say of an agent name nobody declared: the names that exist. */
    public static String unknownAgent(String name, AgentRegistry agents) {
        return "unknown agent '"
                + name
                + "'; known agents: "
                + String.join(", ", agents.all().stream().map(AgentDefinition::name).toList());
    }

    private FieldChecks() {}

    public static void noUnknownFields(
            JsonNode root, Set<String> allowed, String prefix, List<FieldError> errors) {
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!allowed.contains(name)) {
                errors.add(
                        new FieldError(
                                prefix + name,
                                "unknown field; allowed fields are "
                                        + String.join(", ", allowed.stream().sorted().toList())));
            }
        }
    }

    /**
     * An absolute http(s) URL with a host and no credentials, or null when absent. A host given as
     * an address the egress policy refuses is rejected now; host names are judged when the callback
     * is sent, after DNS.
     */
    public static String callbackUrl(
            JsonNode node, String field, EgressPolicy egress, List<FieldError> errors) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            errors.add(new FieldError(field, "must be a string, got " + kind(node)));
            return null;
        }
        String text = node.asText();
        try {
            URI uri = new URI(text);
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if ((scheme.equals("http") || scheme.equals("https"))
                    && uri.getHost() != null
                    && uri.getUserInfo() == null
                    && text.length() <= 2048) {
                if (Boolean.FALSE.equals(egress.permitsLiteral(uri.getHost()))) {
                    errors.add(new FieldError(field, EgressPolicy.refusal(uri.getHost())));
                    return null;
                }
                return text;
            }
        } catch (URISyntaxException e) {
            // reported below
        }
        errors.add(
                new FieldError(
                        field,
                        "must be an absolute http:// or https:// URL with a host and no credentials, at most 2048 characters"));
        return null;
    }

    /** A JSON object, or {@code empty} when absent. */
    public static JsonNode object(
            JsonNode root, String field, JsonNode empty, List<FieldError> errors) {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            return empty;
        }
        if (!node.isObject()) {
            errors.add(new FieldError(field, "must be a JSON object, got " + kind(node)));
        }
        return node;
    }

    /**
     * Whether any string or field name in {@code node} holds a NUL character, which PostgreSQL's
     * jsonb refuses.
     */
    public static boolean containsNul(JsonNode node) {
        if (node.isTextual()) {
            return node.asText().indexOf('\0') >= 0;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            var e = it.next();
            if (e.getKey().indexOf('\0') >= 0 || containsNul(e.getValue())) {
                return true;
            }
        }
        if (node.isArray()) {
            for (JsonNode element : node) {
                if (containsNul(element)) {
                    return true;
                }
            }
        }
        return false;
    }

    public static String kind(JsonNode node) {
        return switch (node.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            default -> "null";
        };
    }
}
