package dev.pulse.server.api;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;

/**
 * Reads a request body that must be one JSON object, refusing anything else with the same 400
 * everywhere.
 */
public final class JsonBodies {

    private JsonBodies() {}

    /**
     * The body as a JSON object. An empty body, malformed JSON (with where it broke) or any other
     * JSON value is a 400 problem on {@code body} that shows {@code example}, a valid body.
     */
    public static JsonNode object(ObjectMapper json, String body, String example) {
        if (body == null || body.isBlank()) {
            throw new ProblemException(
                    Problem.invalid(
                            400,
                            "body",
                            "the request body is empty; send a JSON object such as " + example));
        }
        JsonNode root = parse(json, body, example);
        if (root == null || !root.isObject()) {
            throw new ProblemException(
                    Problem.invalid(400, "body", "must be a JSON object such as " + example));
        }
        return root;
    }

    /**
     * For operations whose body is optional: an empty body and the JSON {@code null} (what
     * generated clients send for an absent body) are an empty object; anything else as {@link
     * #object}.
     */
    public static JsonNode optionalObject(ObjectMapper json, String body, String example) {
        if (body == null || body.isBlank()) {
            return json.createObjectNode();
        }
        JsonNode root = parse(json, body, example);
        if (root == null || root.isNull()) {
            return json.createObjectNode();
        }
        if (!root.isObject()) {
            throw new ProblemException(
                    Problem.invalid(400, "body", "must be a JSON object such as " + example));
        }
        return root;
    }

    private static JsonNode parse(ObjectMapper json, String body, String example) {
        try {
            return json.readTree(body);
        } catch (JsonProcessingException e) {
            throw new ProblemException(
                    Problem.invalid(
                            400,
                            "body",
                            "is not valid JSON: "
                                    + whatBroke(e)
                                    + where(e.getLocation())
                                    + "; send a JSON object such as "
                                    + example));
        }
    }

    /**
     * The parser's complaint in plain words. Its own messages name its internals (token types,
     * character codes, class names), which mean nothing to a client.
     */
    private static String whatBroke(JsonProcessingException e) {
        if (e instanceof JsonEOFException
                || String.valueOf(e.getOriginalMessage()).startsWith("Unexpected end-of-input")) {
            return "it ends before the JSON value is complete";
        }
        if (e instanceof MismatchedInputException
                && String.valueOf(e.getOriginalMessage()).contains("Trailing token")) {
            return "more text follows the JSON value";
        }
        return "unexpected text";
    }

    private static String where(JsonLocation at) {
        if (at == null || at.getLineNr() < 1) {
            return "";
        }
        return " at line " + at.getLineNr() + ", column " + at.getColumnNr();
    }
}
