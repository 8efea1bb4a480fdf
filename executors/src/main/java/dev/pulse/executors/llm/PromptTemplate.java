package dev.pulse.executors.llm;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The prompt templates of {@code llm} agents: {@code {{input.path.to.field}}} is replaced by that
 * field of the task input (text as is, numbers and booleans as written, objects and arrays as
 * JSON), {@code {{input}}} by the whole input as JSON. Array elements are addressed by index
 * ({@code {{input.items.0}}}). Replacement is one pass: text coming from the input is never
 * expanded again.
 */
public final class PromptTemplate {

    private static final Pattern PLACEHOLDER = Pattern.compile("\\{\\{\\s*(.*?)\\s*}}");
    private static final Pattern PATH = Pattern.compile("input(\\.[A-Za-z0-9_-]+)*");

    private PromptTemplate() {}

    /** A field the template refers to is not in the task input. */
    public static final class MissingField extends Exception {

        private final String path;

        MissingField(String path) {
            super(
                    (path.equals("input")
                                    ? "the task has no input"
                                    : "the task input has no field "
                                            + path.substring("input.".length()))
                            + " (the template uses {{"
                            + path
                            + "}})");
            this.path = path;
        }

        /** The placeholder's path, e.g. {@code input.text}. */
        public String path() {
            return path;
        }
    }

    /**
     * Problems with the placeholders of a template, e.g. {@code {{ text }}} instead of {@code
     * {{input.text}}}.
     */
    public static List<String> problems(String template) {
        List<String> problems = new ArrayList<>();
        Matcher m = PLACEHOLDER.matcher(template);
        while (m.find()) {
            if (!PATH.matcher(m.group(1)).matches()) {
                problems.add(
                        "placeholder "
                                + m.group()
                                + " must be {{input}} or {{input.path.to.field}}"
                                + " (letters, digits, '_' and '-' between the dots)");
            }
        }
        return problems;
    }

    /**
     * @throws MissingField naming the first placeholder whose field the input does not have
     * @throws IllegalArgumentException if the template has a placeholder {@link #problems} rejects
     */
    public static String render(String template, JsonNode input, ObjectMapper json)
            throws MissingField {
        Matcher m = PLACEHOLDER.matcher(template);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String path = m.group(1);
            if (!PATH.matcher(path).matches()) {
                throw new IllegalArgumentException("invalid placeholder " + m.group());
            }
            m.appendReplacement(out, Matcher.quoteReplacement(text(lookUp(input, path), json)));
        }
        m.appendTail(out);
        return out.toString();
    }

    private static JsonNode lookUp(JsonNode input, String path) throws MissingField {
        JsonNode node = input;
        String[] segments = path.split("\\.");
        for (int i = 1; i < segments.length; i++) {
            String segment = segments[i];
            JsonNode next = null;
            if (node != null && node.isObject()) {
                next = node.get(segment);
            } else if (node != null
                    && node.isArray()
                    && segment.chars().allMatch(Character::isDigit)
                    && segment.length() < 10) {
                next = node.get(Integer.parseInt(segment));
            }
            if (next == null || next.isMissingNode()) {
                throw new MissingField(path);
            }
            node = next;
        }
        if (node == null || node.isMissingNode()) {
            throw new MissingField(path);
        }
        return node;
    }

    private static String text(JsonNode node, ObjectMapper json) {
        if (node.isValueNode()) {
            return node.asText();
        }
        try {
            return json.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise a parsed JSON tree", e);
        }
    }
}
