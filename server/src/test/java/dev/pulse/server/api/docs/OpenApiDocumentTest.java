package dev.pulse.server.api.docs;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.server.TestNode;
import dev.pulse.server.api.ApiServer;
import dev.pulse.server.dashboard.Dashboard;
import dev.pulse.server.dashboard.DashboardRole;
import dev.pulse.server.keys.AnyKeyRole;
import dev.pulse.server.keys.ScopeRole;
import io.swagger.parser.OpenAPIParser;
import io.swagger.v3.parser.core.models.ParseOptions;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Keeps {@code openapi.yaml} true: the routes Javalin actually registered and the operations the
 * document describes must be the same (method, path), with the same scope, and the document must
 * hang together (every $ref resolves, every path parameter is declared).
 */
class OpenApiDocumentTest {

    private static final Set<String> METHODS =
            Set.of("get", "put", "post", "delete", "patch", "head", "options");
    private static TestNode node;
    private static JsonNode document;

    @BeforeAll
    static void start() {
        node = new TestNode();
        document = ApiDocsRoutes.document();
    }

    @AfterAll
    static void stop() {
        node.close();
    }

    @Test
    void everyRegisteredRouteIsDocumentedWithItsScopeAndNothingElseIs() {
        Map<String, String> registered = new TreeMap<>();
        for (ApiServer.Route route : apiRoutes()) {
            String scopes =
                    route.roles().stream()
                            .map(
                                    r ->
                                            r == AnyKeyRole.ANY_KEY
                                                    ? ApiDocsRoutes.ANY_KEY
                                                    : ((ScopeRole) r).scope().wire())
                            .sorted()
                            .collect(Collectors.joining(","));
            registered.put(
                    route.method() + " " + route.path(), scopes.isEmpty() ? "public" : scopes);
        }
        Map<String, String> documented = new TreeMap<>();
        operations()
                .forEach(
                        (key, op) ->
                                documented.put(key, ApiDocsRoutes.scope(op).replace(", ", ",")));

        assertThat(registered)
                .as("routes registered in Javalin")
                .containsEntry("POST /v1/tasks", "tasks:write")
                .containsEntry("POST /mcp", "any key")
                .containsEntry("GET /health/live", "public");
        assertThat(documented)
                .as("operations in openapi.yaml, with their scope")
                .containsExactlyInAnyOrderEntriesOf(registered);
    }

    /**
     * The dashboard's pages are HTML for browsers, signed in with a session, not API operations:
     * they carry a {@link DashboardRole} instead of a scope, and the document leaves them out.
     */
    @Test
    void dashboardPagesAreMarkedAsSuchAndAreTheOnlyRoutesLeftOutOfTheDocument() {
        List<ApiServer.Route> pages =
                node.node.api().routes().stream()
                        .filter(OpenApiDocumentTest::isDashboardPage)
                        .toList();
        assertThat(pages)
                .isNotEmpty()
                .allSatisfy(
                        r -> {
                            assertThat(r.path()).startsWith(Dashboard.ROOT);
                            assertThat(r.roles()).hasSize(1);
                        });
        assertThat(apiRoutes())
                .allSatisfy(
                        r -> {
                            assertThat(r.path()).doesNotStartWith(Dashboard.ROOT);
                            assertThat(r.roles())
                                    .allSatisfy(
                                            role ->
                                                    assertThat(role)
                                                            .isInstanceOfAny(
                                                                    ScopeRole.class,
                                                                    AnyKeyRole.class));
                        });
        assertThat(document.path("paths").fieldNames())
                .toIterable()
                .noneMatch(p -> p.startsWith(Dashboard.ROOT));
    }

    private static List<ApiServer.Route> apiRoutes() {
        return node.node.api().routes().stream().filter(r -> !isDashboardPage(r)).toList();
    }

    private static boolean isDashboardPage(ApiServer.Route route) {
        return route.roles().stream().anyMatch(DashboardRole.class::isInstance);
    }

    @Test
    void onlyHealthAndTheDocumentsArePublic() {
        List<String> publicOps = new ArrayList<>();
        operations()
                .forEach(
                        (key, op) -> {
                            if (ApiDocsRoutes.scope(op).equals("public")) {
                                publicOps.add(key);
                            } else {
                                assertThat(op.path("responses").has("401"))
                                        .as(key + " documents 401")
                                        .isTrue();
                                // A key of any scope is never forbidden for its scope (MCP
                                // tools check their own scopes and answer a tool error); /mcp
                                // forbids only a foreign Origin.
                                if (ApiDocsRoutes.scope(op).equals(ApiDocsRoutes.ANY_KEY)) {
                                    assertThat(
                                                    op.path("responses")
                                                            .path("403")
                                                            .path("description")
                                                            .asText("Origin"))
                                            .as(key + " documents 403 only for a foreign Origin")
                                            .contains("Origin");
                                } else {
                                    assertThat(op.path("responses").has("403"))
                                            .as(key + " documents 403")
                                            .isTrue();
                                }
                                assertThat(op.path("responses").has("429"))
                                        .as(key + " documents 429")
                                        .isTrue();
                                assertThat(op.path("responses").has("503"))
                                        .as(
                                                key
                                                        + " documents 503 (its key is looked up in the database)")
                                        .isTrue();
                            }
                        });
        assertThat(publicOps)
                .containsExactlyInAnyOrder(
                        "GET /health/live", "GET /health/ready", "GET /openapi.json", "GET /docs");
    }

    /** Every operation that reads a JSON body can refuse it as malformed, too large or not JSON. */
    @Test
    void operationsWithABodyDocumentTheWaysABodyIsRefused() {
        operations()
                .forEach(
                        (key, op) -> {
                            if (op.has("requestBody")) {
                                assertThat(op.path("responses").fieldNames())
                                        .toIterable()
                                        .as(key)
                                        .contains("400", "413", "415");
                            }
                        });
    }

    @Test
    void theDocumentIsConsistent() {
        assertThat(document.path("openapi").asText()).isEqualTo("3.1.0");
        List<String> refs = new ArrayList<>();
        collectRefs(document, refs);
        assertThat(refs).isNotEmpty();
        for (String ref : refs) {
            assertThat(ref).startsWith("#/");
            assertThat(document.at(ref.substring(1)).isMissingNode())
                    .as("$ref " + ref + " resolves")
                    .isFalse();
        }
        Set<String> operationIds = new HashSet<>();
        document.path("paths")
                .fields()
                .forEachRemaining(
                        path -> {
                            Set<String> inPath = new HashSet<>();
                            Matcher m = Pattern.compile("\\{([^}]+)}").matcher(path.getKey());
                            while (m.find()) {
                                inPath.add(m.group(1));
                            }
                            Set<String> declared = new HashSet<>();
                            path.getValue()
                                    .path("parameters")
                                    .forEach(
                                            p -> {
                                                JsonNode param =
                                                        p.has("$ref")
                                                                ? document.at(
                                                                        p.path("$ref")
                                                                                .asText()
                                                                                .substring(1))
                                                                : p;
                                                if (param.path("in").asText().equals("path")) {
                                                    declared.add(param.path("name").asText());
                                                }
                                            });
                            assertThat(declared)
                                    .as("path parameters of " + path.getKey())
                                    .isEqualTo(inPath);
                        });
        operations()
                .forEach(
                        (key, op) -> {
                            assertThat(operationIds.add(op.path("operationId").asText()))
                                    .as(key + " has a unique operationId")
                                    .isTrue();
                            assertThat(op.path("summary").asText())
                                    .as(key + " summary")
                                    .isNotBlank();
                            assertThat(op.path("responses").size())
                                    .as(key + " responses")
                                    .isPositive();
                        });
    }

    /**
     * swagger-parser, the reader under openapi-generator and most Java tooling, takes the document
     * without one message (an unquoted comma in a flow mapping, a missing license field or a bad
     * $ref would each give one). openapi-generator's own validation runs at every build: the Maven
     * plugin that generates the test client refuses a document it finds invalid.
     */
    @Test
    void swaggerParserReadsTheDocumentWithoutAMessage() throws Exception {
        ParseOptions options = new ParseOptions();
        options.setResolve(true);
        options.setValidateInternalRefs(true);
        String yaml =
                new String(
                        ApiDocsRoutes.class.getResourceAsStream("/openapi.yaml").readAllBytes(),
                        StandardCharsets.UTF_8);
        SwaggerParseResult result = new OpenAPIParser().readContents(yaml, null, options);
        assertThat(result.getMessages()).as("swagger-parser's messages").isEmpty();
        assertThat(result.getOpenAPI().getPaths()).hasSize(document.path("paths").size());
        assertThat(
                        result.getOpenAPI()
                                .getComponents()
                                .getSchemas()
                                .get("TaskBatchResult")
                                .getProperties()
                                .toString())
                .doesNotContain("when the task is due.");
    }

    /**
     * Descriptions are prose, never keys: a property or enum value with a space is a YAML accident.
     */
    @Test
    void noPropertyNameIsASentence() {
        List<String> odd = new ArrayList<>();
        collectPropertyNames(document, "", odd);
        assertThat(odd).as("property names that are not identifiers").isEmpty();
    }

    private static void collectPropertyNames(JsonNode node, String at, List<String> odd) {
        if (node.isObject()) {
            node.fields()
                    .forEachRemaining(
                            e -> {
                                if (e.getKey().equals("properties") && e.getValue().isObject()) {
                                    e.getValue()
                                            .fieldNames()
                                            .forEachRemaining(
                                                    name -> {
                                                        if (!name.matches("[a-z][a-z0-9_]*")) {
                                                            odd.add(at + "/properties/" + name);
                                                        }
                                                    });
                                }
                                collectPropertyNames(e.getValue(), at + "/" + e.getKey(), odd);
                            });
        } else if (node.isArray()) {
            node.forEach(child -> collectPropertyNames(child, at, odd));
        }
    }

    @Test
    void theDocumentAndThePageAreServedWithoutAKey() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> json =
                http.send(
                        HttpRequest.newBuilder(URI.create(node.url("/openapi.json"))).build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(json.statusCode()).isEqualTo(200);
        assertThat(json.headers().firstValue("Content-Type"))
                .hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        assertThat(new ObjectMapper().readTree(json.body())).isEqualTo(document);

        HttpResponse<String> page =
                http.send(
                        HttpRequest.newBuilder(URI.create(node.url("/docs"))).build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.headers().firstValue("Content-Type"))
                .hasValueSatisfying(v -> assertThat(v).startsWith("text/html"));
        assertThat(page.body())
                .contains(
                        "<code>/v1/tasks/{id}/cancel</code>",
                        "tasks:write",
                        "Queue a task",
                        "href=\"/openapi.json\"")
                .doesNotContain("<script", "http://", "https://");
    }

    /** "METHOD /path" → operation, for every operation in the document. */
    private static Map<String, JsonNode> operations() {
        Map<String, JsonNode> ops = new TreeMap<>();
        document.path("paths")
                .fields()
                .forEachRemaining(
                        path ->
                                path.getValue()
                                        .fields()
                                        .forEachRemaining(
                                                op -> {
                                                    if (METHODS.contains(op.getKey())) {
                                                        ops.put(
                                                                op.getKey().toUpperCase()
                                                                        + " "
                                                                        + path.getKey(),
                                                                op.getValue());
                                                    }
                                                }));
        return ops;
    }

    private static void collectRefs(JsonNode node, List<String> refs) {
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                if (e.getKey().equals("$ref")) {
                    refs.add(e.getValue().asText());
                } else {
                    collectRefs(e.getValue(), refs);
                }
            }
        } else if (node.isArray()) {
            node.forEach(child -> collectRefs(child, refs));
        }
    }
}
