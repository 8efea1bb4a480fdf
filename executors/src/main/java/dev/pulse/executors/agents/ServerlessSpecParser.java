package dev.pulse.executors.agents;

import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Reads and checks the {@code spec.serverless} block of an agent file. */
final class ServerlessSpecParser {

    private static final String AT = "spec.serverless";
    private static final Set<String> KEYS =
            Set.of("url", "method", "headers", "auth", "result", "mode", "retries");
    private static final Set<String> AUTH_KEYS = Set.of("bearer", "header", "basic");
    private static final Set<String> AUTH_HEADER_KEYS = Set.of("name", "value");
    private static final Set<String> AUTH_BASIC_KEYS = Set.of("username", "password");
    private static final List<String> METHODS = List.of("POST", "PUT", "PATCH");

    /** Headers Pulse sets itself (or the HTTP client does); an agent file may not override them. */
    private static final Set<String> RESERVED_HEADERS =
            Set.of(
                    "content-length",
                    "host",
                    "transfer-encoding",
                    "connection",
                    "pulse-task-id",
                    "pulse-attempt");

    private ServerlessSpecParser() {}

    static ServerlessSpec parse(JsonNode node, List<String> problems) {
        if (!node.isObject()) {
            problems.add(
                    AT
                            + ": is required for executor serverless and must be a mapping with url,"
                            + " e.g. {url: \"https://agents.example.com/run\"}");
            return null;
        }
        int before = problems.size();
        AgentFileLoader.unknownKeys(node, KEYS, AT + ".", problems);

        String url = SpecValues.string(node, "url", AT + ".url", true, problems);
        if (url != null) {
            String problem = SpecValues.httpUrlProblem(url);
            if (problem != null) {
                problems.add(AT + ".url: " + problem);
            }
        }

        String method = ServerlessSpec.DEFAULT_METHOD;
        if (node.has("method")) {
            String given =
                    node.get("method").isTextual()
                            ? node.get("method").asText().toUpperCase(Locale.ROOT)
                            : "";
            if (!METHODS.contains(given)) {
                problems.add(
                        AT
                                + ".method: must be one of "
                                + String.join(", ", METHODS)
                                + " (the input is sent as the body)");
            } else {
                method = given;
            }
        }

        ServerlessSpec.Auth auth = parseAuth(node.path("auth"), problems);
        Map<String, String> headers = parseHeaders(node.path("headers"), auth != null, problems);

        String result = null;
        if (node.has("result")) {
            JsonNode r = node.get("result");
            String pointer = r.isTextual() ? r.asText() : null;
            if (pointer == null || !pointer.startsWith("/") || !validPointer(pointer)) {
                problems.add(
                        AT
                                + ".result: must be a JSON pointer into the response, such as /output or /data/0/text");
            } else {
                result = pointer;
            }
        }

        ServerlessSpec.Mode mode = ServerlessSpec.Mode.SYNC;
        if (node.has("mode")) {
            String given = node.get("mode").isTextual() ? node.get("mode").asText() : "";
            switch (given) {
                case "sync" -> mode = ServerlessSpec.Mode.SYNC;
                case "async" -> mode = ServerlessSpec.Mode.ASYNC;
                default ->
                        problems.add(
                                AT + ".mode: must be sync (the response is the result) or async");
            }
        }

        int retries = ServerlessSpec.DEFAULT_RETRIES;
        if (node.has("retries")) {
            JsonNode n = node.get("retries");
            if (!n.isIntegralNumber() || n.asInt() < 0 || n.asInt() > ServerlessSpec.MAX_RETRIES) {
                problems.add(
                        AT
                                + ".retries: must be an integer from 0 to "
                                + ServerlessSpec.MAX_RETRIES
                                + " (retries within one attempt after a connection error, a 5xx or a 429)");
            } else {
                retries = n.asInt();
            }
        }
        if (problems.size() > before) {
            return null;
        }
        return new ServerlessSpec(url, method, headers, auth, result, mode, retries);
    }

    private static Map<String, String> parseHeaders(
            JsonNode node, boolean hasAuth, List<String> problems) {
        Map<String, String> headers = new LinkedHashMap<>();
        if (node.isMissingNode()) {
            return headers;
        }
        if (!node.isObject()) {
            problems.add(AT + ".headers: must be a mapping of header names to strings");
            return headers;
        }
        node.fieldNames()
                .forEachRemaining(
                        name -> {
                            String path = AT + ".headers." + name;
                            if (!SpecValues.HEADER_NAME.matcher(name).matches()) {
                                problems.add(path + ": is not a valid header name");
                                return;
                            }
                            String lower = name.toLowerCase(Locale.ROOT);
                            if (RESERVED_HEADERS.contains(lower)) {
                                problems.add(path + ": is set by Pulse and cannot be configured");
                                return;
                            }
                            if (hasAuth && lower.equals("authorization")) {
                                problems.add(
                                        path + ": conflicts with " + AT + ".auth; set one of them");
                                return;
                            }
                            JsonNode value = node.get(name);
                            if (value.isNumber() || value.isBoolean()) {
                                headers.put(name, value.asText());
                                return;
                            }
                            if (!value.isTextual()) {
                                problems.add(path + ": must be a string");
                                return;
                            }
                            String text = SpecValues.string(node, name, path, false, problems);
                            if (text != null) {
                                headers.put(name, text);
                            }
                        });
        return headers;
    }

    private static ServerlessSpec.Auth parseAuth(JsonNode node, List<String> problems) {
        String at = AT + ".auth";
        if (node.isMissingNode()) {
            return null;
        }
        String shapes =
                "must have exactly one of bearer: \"${env:TOKEN}\", header: {name, value} or basic: {username, password}";
        if (!node.isObject()) {
            problems.add(at + ": " + shapes);
            return null;
        }
        AgentFileLoader.unknownKeys(node, AUTH_KEYS, at + ".", problems);
        long kinds = AUTH_KEYS.stream().filter(node::has).count();
        if (kinds != 1) {
            problems.add(at + ": " + shapes);
            return null;
        }
        if (node.has("bearer")) {
            String token = SpecValues.string(node, "bearer", at + ".bearer", true, problems);
            return token == null ? null : new ServerlessSpec.BearerAuth(token);
        }
        if (node.has("header")) {
            JsonNode header = node.get("header");
            if (!header.isObject()) {
                problems.add(
                        at
                                + ".header: must be a mapping with name and value, e.g. {name: X-Api-Key, value: \"${env:API_KEY}\"}");
                return null;
            }
            AgentFileLoader.unknownKeys(header, AUTH_HEADER_KEYS, at + ".header.", problems);
            String name = SpecValues.string(header, "name", at + ".header.name", true, problems);
            if (name != null && !SpecValues.HEADER_NAME.matcher(name).matches()) {
                problems.add(at + ".header.name: is not a valid header name");
                name = null;
            } else if (name != null && RESERVED_HEADERS.contains(name.toLowerCase(Locale.ROOT))) {
                problems.add(at + ".header.name: " + name + " is set by Pulse and cannot be used");
                name = null;
            }
            String value = SpecValues.string(header, "value", at + ".header.value", true, problems);
            return name == null || value == null
                    ? null
                    : new ServerlessSpec.HeaderAuth(name, value);
        }
        JsonNode basic = node.get("basic");
        if (!basic.isObject()) {
            problems.add(at + ".basic: must be a mapping with username and password");
            return null;
        }
        AgentFileLoader.unknownKeys(basic, AUTH_BASIC_KEYS, at + ".basic.", problems);
        String username =
                SpecValues.string(basic, "username", at + ".basic.username", true, problems);
        if (username != null && username.contains(":")) {
            problems.add(at + ".basic.username: must not contain ':'");
            username = null;
        }
        String password =
                SpecValues.string(basic, "password", at + ".basic.password", true, problems);
        return username == null || password == null
                ? null
                : new ServerlessSpec.BasicAuth(username, password);
    }

    private static boolean validPointer(String pointer) {
        try {
            JsonPointer.compile(pointer);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
