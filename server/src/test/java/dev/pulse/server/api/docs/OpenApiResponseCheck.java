package dev.pulse.server.api.docs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Error;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.dialect.Dialect;
import com.networknt.schema.dialect.Dialects;
import com.networknt.schema.keyword.NonValidationKeyword;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Checks an HTTP response against {@code openapi.yaml}: its status must be documented for the
 * operation, its media type listed for that status, and its body valid against the documented
 * schema, judged by networknt's JSON Schema 2020-12 validator (OpenAPI 3.1's dialect) with format
 * assertions on ({@code date-time}, {@code uuid}, {@code uri}). Requests that match no documented
 * operation (the dashboard, unknown paths, methods a path does not take) are not judged here.
 */
public final class OpenApiResponseCheck {

    private static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "patch");

    private final JsonNode document;
    private final ObjectMapper json = new ObjectMapper();
    private final List<Template> templates = new ArrayList<>();

    /**
     * JSON Schema 2020-12, told that the {@code components} beside a response schema only hold what
     * its $refs reach, with format assertions on.
     */
    private final SchemaRegistry registry =
            SchemaRegistry.withDialect(
                    Dialect.builder(Dialects.getDraft202012())
                            .keyword(new NonValidationKeyword("components"))
                            .build(),
                    builder ->
                            builder.schemaRegistryConfig(
                                    SchemaRegistryConfig.builder()
                                            .formatAssertionsEnabled(true)
                                            .build()));

    private final Map<String, Schema> schemas = new ConcurrentHashMap<>();

    private record Template(String path, Pattern pattern, int parameters) {}

    public OpenApiResponseCheck(JsonNode document) {
        this.document = document;
        document.path("paths")
                .fieldNames()
                .forEachRemaining(
                        path ->
                                templates.add(
                                        new Template(
                                                path,
                                                Pattern.compile(
                                                        Pattern.quote(path)
                                                                .replaceAll(
                                                                        "\\{[^}]+}",
                                                                        "\\\\E[^/]+\\\\Q")),
                                                (int) path.chars().filter(c -> c == '{').count())));
        // a literal segment wins over a parameter: /v1/tasks/batch is not /v1/tasks/{id}
        templates.sort(Comparator.comparingInt(Template::parameters));
    }

    /**
     * What is wrong with this response, or empty when it matches the document (or no operation is
     * documented).
     */
    public Optional<String> mismatch(
            String method, String path, int status, String contentType, String body) {
        String verb = method.toLowerCase(Locale.ROOT);
        if (!METHODS.contains(verb)) {
            return Optional.empty();
        }
        Optional<Template> template =
                templates.stream().filter(t -> t.pattern().matcher(path).matches()).findFirst();
        if (template.isEmpty() || !document.path("paths").path(template.get().path()).has(verb)) {
            return Optional.empty();
        }
        String operation = method.toUpperCase(Locale.ROOT) + " " + template.get().path();
        String pointer =
                "/paths/" + escape(template.get().path()) + "/" + verb + "/responses/" + status;
        JsonNode response = resolve(document.at(pointer));
        if (response.isMissingNode()) {
            return Optional.of(
                    operation
                            + " answered "
                            + status
                            + ", a status the document does not list for it; body: "
                            + abbreviated(body));
        }
        JsonNode content = response.path("content");
        if (content.isMissingNode() || content.isEmpty()) {
            return body == null || body.isEmpty()
                    ? Optional.empty()
                    : Optional.of(
                            operation
                                    + " "
                                    + status
                                    + " has a body where the document has none: "
                                    + abbreviated(body));
        }
        String mediaType =
                contentType == null
                        ? ""
                        : contentType.split(";")[0].trim().toLowerCase(Locale.ROOT);
        if (!content.has(mediaType)) {
            return Optional.of(
                    operation
                            + " "
                            + status
                            + " is "
                            + (mediaType.isEmpty() ? "without Content-Type" : mediaType)
                            + "; the document lists "
                            + join(content.fieldNames()));
        }
        if (!mediaType.endsWith("json")) {
            return Optional.empty();
        }
        JsonNode parsed;
        try {
            parsed = json.readTree(body == null ? "" : body);
        } catch (JsonProcessingException e) {
            return Optional.of(
                    operation
                            + " "
                            + status
                            + " "
                            + mediaType
                            + " body is not JSON: "
                            + abbreviated(body));
        }
        JsonNode schema = content.path(mediaType).path("schema");
        String key = pointer + "/content/" + escape(mediaType) + "/schema";
        List<Error> errors =
                schemas.computeIfAbsent(key, k -> compile(schema))
                        .validate(parsed == null ? json.nullNode() : parsed);
        if (errors.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(
                operation
                        + " "
                        + status
                        + " "
                        + mediaType
                        + " does not match the document: "
                        + errors.stream()
                                .map(OpenApiResponseCheck::describe)
                                .sorted()
                                .collect(Collectors.joining("; "))
                        + "; body: "
                        + abbreviated(body));
    }

    /** The response schema as a root schema that still reaches the document's components. */
    private Schema compile(JsonNode schema) {
        ObjectNode root =
                schema.isObject() ? (ObjectNode) schema.deepCopy() : json.createObjectNode();
        root.set("components", document.path("components"));
        return registry.getSchema(root);
    }

    /** Where in the body and what: {@code $.items[0].state: does not have a value in the enum}. */
    private static String describe(Error error) {
        return error.getInstanceLocation() + ": " + error.getMessage();
    }

    private JsonNode resolve(JsonNode node) {
        while (node.has("$ref")) {
            node = document.at(node.path("$ref").asText().substring(1));
        }
        return node;
    }

    private static String escape(String pointerToken) {
        return pointerToken.replace("~", "~0").replace("/", "~1");
    }

    private static String join(Iterator<String> names) {
        List<String> all = new ArrayList<>();
        names.forEachRemaining(all::add);
        return String.join(", ", all);
    }

    private static String abbreviated(String body) {
        if (body == null) {
            return "(none)";
        }
        return body.length() <= 600 ? body : body.substring(0, 600) + "…";
    }
}
