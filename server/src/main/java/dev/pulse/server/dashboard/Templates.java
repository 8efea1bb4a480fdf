package dev.pulse.server.dashboard;

import io.javalin.http.Context;
import io.pebbletemplates.pebble.PebbleEngine;
import io.pebbletemplates.pebble.loader.ClasspathLoader;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Map;

/**
 * Renders the Pebble templates in {@code dashboard/templates} (HTML-escaped by default) with what
 * every page needs: the operator, their CSRF token and what they may do.
 */
final class Templates {

    private final PebbleEngine engine;

    Templates() {
        ClasspathLoader loader = new ClasspathLoader(Templates.class.getClassLoader());
        loader.setPrefix("dashboard/templates");
        loader.setSuffix(".peb");
        this.engine = new PebbleEngine.Builder().loader(loader).strictVariables(false).build();
    }

    /** Renders a page or fragment to the response as HTML. */
    void render(Context ctx, String template, Map<String, Object> model) {
        ctx.contentType("text/html; charset=utf-8")
                .result(render(template, withCommon(ctx, model)));
    }

    String render(String template, Map<String, Object> model) {
        StringWriter out = new StringWriter();
        try {
            engine.getTemplate(template).evaluate(out, model);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString();
    }

    private static Map<String, Object> withCommon(Context ctx, Map<String, Object> model) {
        Map<String, Object> all = new HashMap<>(model);
        Operator operator = ctx.attribute(DashboardGuard.OPERATOR);
        if (operator != null) {
            all.put("operator", operator.name());
            all.put("csrf", operator.csrfToken());
            all.put("canTasks", operator.canActOnTasks());
            all.put("canSchedules", operator.canActOnSchedules());
            all.put("readOnly", operator.readOnly());
        }
        return all;
    }
}
