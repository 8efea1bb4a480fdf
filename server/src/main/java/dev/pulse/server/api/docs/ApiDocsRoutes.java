package dev.pulse.server.api.docs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.javalin.config.RoutesConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /openapi.json}: the OpenAPI 3.1 document (hand-written in {@code openapi.yaml});
 * {@code GET /docs}: the same document as a self-contained HTML page. Both are public.
 */
public final class ApiDocsRoutes {

    static final String RESOURCE = "/openapi.yaml";

    /** What an operation that takes a key of any scope (e.g. {@code POST /mcp}) shows as scope. */
    static final String ANY_KEY = "any key";

    private static final List<String> METHODS =
            List.of("get", "put", "post", "delete", "patch", "head", "options");

    private final String json;
    private final String html;

    public ApiDocsRoutes(ObjectMapper mapper) {
        JsonNode document = document();
        try {
            this.json = mapper.writerWithDefaultPrettyPrinter().writeValueAsString(document);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.html = html(document);
    }

    public void register(RoutesConfig routes) {
        routes.get("/openapi.json", ctx -> ctx.contentType("application/json").result(json));
        routes.get("/docs", ctx -> ctx.contentType("text/html; charset=utf-8").result(html));
    }

    /** The OpenAPI document, read from the classpath. */
    public static JsonNode document() {
        try (InputStream in = ApiDocsRoutes.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is missing from the classpath");
            }
            return new YAMLMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** One table row per operation: method, path, scope, summary, description and status codes. */
    static String html(JsonNode document) {
        StringBuilder rows = new StringBuilder();
        for (Iterator<Map.Entry<String, JsonNode>> paths = document.path("paths").fields();
                paths.hasNext(); ) {
            Map.Entry<String, JsonNode> path = paths.next();
            for (String method : METHODS) {
                JsonNode op = path.getValue().get(method);
                if (op == null) {
                    continue;
                }
                rows.append("<tr><td class=m>")
                        .append(method.toUpperCase())
                        .append("</td><td><code>")
                        .append(escape(path.getKey()))
                        .append("</code></td><td>")
                        .append(escape(scope(op)))
                        .append("</td><td><b>")
                        .append(escape(op.path("summary").asText()))
                        .append("</b>");
                if (op.hasNonNull("description")) {
                    rows.append("<br>").append(escape(op.path("description").asText()));
                }
                rows.append("</td><td>")
                        .append(
                                escape(
                                        String.join(
                                                " ", iterable(op.path("responses").fieldNames()))))
                        .append("</td></tr>\n");
            }
        }
        JsonNode info = document.path("info");
        return """
                <!doctype html>
                <html lang="en"><head><meta charset="utf-8"><title>%1$s</title>
                <style>
                body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:70rem;padding:0 1rem;color:#222}
                table{border-collapse:collapse;width:100%%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}
                .m{font-weight:bold;font-family:monospace}code{white-space:nowrap}p{white-space:pre-line}
                </style></head><body>
                <h1>%1$s %2$s</h1>
                <p>%3$s</p>
                <p>The machine-readable OpenAPI 3.1 document: <a href="/openapi.json">/openapi.json</a>.</p>
                <table><tr><th>Method</th><th>Path</th><th>Scope</th><th>Operation</th><th>Statuses</th></tr>
                %4$s</table></body></html>
                """
                .formatted(
                        escape(info.path("title").asText()),
                        escape(info.path("version").asText()),
                        escape(info.path("description").asText()),
                        rows);
    }

    /**
     * The scopes an operation's security requirement names, "any key" when it names a key but no
     * scope, or "public" when it needs none.
     */
    static String scope(JsonNode operation) {
        JsonNode security = operation.path("security");
        if (security.isArray() && security.isEmpty()) {
            return "public";
        }
        StringBuilder scopes = new StringBuilder();
        security.forEach(
                requirement ->
                        requirement.forEach(
                                list ->
                                        list.forEach(
                                                s -> {
                                                    scopes.append(scopes.length() == 0 ? "" : ", ")
                                                            .append(s.asText());
                                                })));
        return scopes.length() == 0 ? ANY_KEY : scopes.toString();
    }

    private static <T> Iterable<T> iterable(Iterator<T> iterator) {
        return () -> iterator;
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;")
                .replace("<", "&lt;")
                .replace(">", "&gt;")
                .replace("\"", "&quot;");
    }
}
