package dev.pulse.server.api;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Reads a request body that must be one JSON object, refusing anything else with the same 400 everywhere. */
public final class JsonBodies {

    private JsonBodies() {
    }

    /**
     * The body as a JSON object. An empty body, malformed JSON (with where it broke) or any other
     * JSON value is a 400 problem on {@code body} that shows {@code example}, a valid body.
     */
    public static JsonNode object(ObjectMapper json, String body, String example) {
        if (body == null || body.isBlank()) {
            throw new ProblemException(Problem.invalid(400, "body", "the request body is empty; send a JSON object such as "
                    + example));
        }
        JsonNode root;
        try {
            root = json.readTree(body);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw new ProblemException(Problem.invalid(400, "body", "malformed JSON" + where + ": " + e.getOriginalMessage()));
        }
        if (root == null || !root.isObject()) {
            throw new ProblemException(Problem.invalid(400, "body", "must be a JSON object such as " + example));
        }
        return root;
    }
}
