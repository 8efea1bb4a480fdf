package dev.pulse.server.api;

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
        ctx.status(status).contentType("application/json").result(write(body));
    }

    public void problem(Context ctx, Problem problem) {
        ObjectNode node = json.createObjectNode();
        node.put("type", problem.type());
        node.put("title", problem.title());
        node.put("status", problem.status());
        node.put("detail", problem.detail());
        node.put("instance", ctx.path());
        if (!problem.errors().isEmpty()) {
            ArrayNode errors = node.putArray("errors");
            problem.errors().forEach(e -> errors.addObject().put("field", e.field()).put("message", e.message()));
        }
        ctx.status(problem.status()).contentType("application/problem+json").result(write(node));
    }

    public ObjectMapper mapper() {
        return json;
    }

    private String write(Object body) {
        return JsonMapper.write(json, body);
    }
}
