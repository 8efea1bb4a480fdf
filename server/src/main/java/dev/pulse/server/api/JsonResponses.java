package dev.pulse.server.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.workers.json.JsonMapper;
import io.javalin.http.Context;

/** Writes JSON and problem+json bodies with one mapper, so every response formats alike. */
public final class JsonResponses {

    private final ObjectMapper json;

    public JsonResponses(ObjectMapper json) {
        this.json = json;
    }

    public void send(Context ctx, int status, Object body) {
        // As bytes: a String result would be encoded again on its way out.
        ctx.status(status).contentType("application/json").result(writeBytes(body));
    }

    public void problem(Context ctx, Problem problem) {
        readUnreadBody(ctx);
        ctx.status(problem.status())
                .contentType("application/problem+json")
                .result(write(problemJson(problem, ctx.path())));
    }

    /** A problem as its JSON document; {@code instance} is what it happened to, e.g. the path. */
    public ObjectNode problemJson(Problem problem, String instance) {
        ObjectNode node = json.createObjectNode();
        node.put("type", problem.type());
        node.put("title", problem.title());
        node.put("status", problem.status());
        node.put("detail", problem.detail());
        node.put("instance", instance);
        if (!problem.errors().isEmpty()) {
            ArrayNode errors = node.putArray("errors");
            problem.errors()
                    .forEach(
                            e ->
                                    errors.addObject()
                                            .put("field", e.field())
                                            .put("message", e.message()));
        }
        return node;
    }

    /**
     * An error can be answered before the request body has arrived (no route, no key). Jetty would
     * then close the connection, and a client already reusing it fails its next request; reading
     * the body (at most the request size limit) keeps the connection usable.
     */
    private static void readUnreadBody(Context ctx) {
        try {
            ctx.bodyAsBytes();
        } catch (RuntimeException e) {
            // Too large or cut off: the connection is closed anyway, and the problem still sent.
        }
    }

    public ObjectMapper mapper() {
        return json;
    }

    private byte[] writeBytes(Object body) {
        try {
            return json.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a value Pulse built is not serialisable as JSON", e);
        }
    }

    /** The JSON text of {@code body}, formatted as every response. */
    public String write(Object body) {
        return JsonMapper.write(json, body);
    }
}
