package dev.pulse.server.mcp;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A tool's input as a JSON Schema object, written property by property. Schemas describe the input
 * for the model; the values are checked by the same parsers as the REST routes, so the errors read
 * the same.
 */
final class InputSchema {

    private final ObjectNode root;

    private InputSchema(ObjectMapper json) {
        this.root = json.createObjectNode().put("type", "object");
        root.putObject("properties");
    }

    static InputSchema object(ObjectMapper json) {
        return new InputSchema(json);
    }

    InputSchema string(String name, String description) {
        return property(name, "string", description);
    }

    InputSchema integer(String name, String description) {
        return property(name, "integer", description);
    }

    InputSchema object(String name, String description) {
        return property(name, "object", description);
    }

    /** An integer property with bounds. */
    InputSchema integer(String name, long minimum, long maximum, String description) {
        property(name, "integer", description);
        ((ObjectNode) root.path("properties").path(name))
                .put("minimum", minimum)
                .put("maximum", maximum);
        return this;
    }

    InputSchema required(String... names) {
        var required = root.putArray("required");
        for (String name : names) {
            required.add(name);
        }
        return this;
    }

    /** Refuses properties it does not list (for tools whose REST route ignores nothing). */
    InputSchema closed() {
        root.put("additionalProperties", false);
        return this;
    }

    ObjectNode build() {
        return root.deepCopy();
    }

    private InputSchema property(String name, String type, String description) {
        ((ObjectNode) root.path("properties"))
                .putObject(name)
                .put("type", type)
                .put("description", description);
        return this;
    }
}
