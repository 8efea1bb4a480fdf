package dev.pulse.executors.agents;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the shape of {@code spec.kubernetes} of an agent document (types and known keys), reporting
 * every problem with its path. What the values must be (an image reference, names Kubernetes
 * accepts, quantities) is the kubernetes executor's {@code validate}.
 */
final class KubernetesSpecParser {

    private static final String AT = "spec.kubernetes";
    private static final Set<String> KEYS =
            Set.of(
                    "image",
                    "command",
                    "env",
                    "secret",
                    "namespace",
                    "context",
                    "service_account",
                    "node_selector",
                    "tolerations",
                    "resources",
                    "report");
    private static final Set<String> RESOURCE_KEYS = Set.of("requests", "limits");
    private static final Set<String> TOLERATION_KEYS =
            Set.of("key", "operator", "value", "effect", "tolerationSeconds");

    private KubernetesSpecParser() {}

    static KubernetesSpec parse(JsonNode node, List<String> problems) {
        if (!node.isObject()) {
            problems.add(
                    AT + ": is required for executor kubernetes and must be a mapping with image");
            return null;
        }
        AgentFileLoader.unknownKeys(node, KEYS, AT + ".", problems);
        String image = SpecValues.string(node, "image", AT + ".image", false, problems);
        List<String> command = strings(node.path("command"), AT + ".command", problems);
        Map<String, String> env = mapping(node.path("env"), AT + ".env", true, problems);
        String secret = SpecValues.string(node, "secret", AT + ".secret", false, problems);
        String namespace = SpecValues.string(node, "namespace", AT + ".namespace", false, problems);
        String context = SpecValues.string(node, "context", AT + ".context", false, problems);
        String account =
                SpecValues.string(
                        node, "service_account", AT + ".service_account", false, problems);
        Map<String, String> selector =
                mapping(node.path("node_selector"), AT + ".node_selector", false, problems);
        List<Map<String, String>> tolerations = new ArrayList<>();
        JsonNode list = node.path("tolerations");
        if (!list.isMissingNode()) {
            if (!list.isArray()) {
                problems.add(
                        AT
                                + ".tolerations: must be a list of mappings with key, operator, value, effect");
            } else {
                for (int i = 0; i < list.size(); i++) {
                    String at = AT + ".tolerations[" + i + "]";
                    if (list.get(i).isObject()) {
                        AgentFileLoader.unknownKeys(
                                list.get(i), TOLERATION_KEYS, at + ".", problems);
                    }
                    tolerations.add(mapping(list.get(i), at, false, problems));
                }
            }
        }
        JsonNode resources = node.path("resources");
        Map<String, String> requests = Map.of();
        Map<String, String> limits = Map.of();
        if (!resources.isMissingNode()) {
            if (!resources.isObject()) {
                problems.add(
                        AT
                                + ".resources: must be a mapping with requests and/or limits, e.g. {limits: {cpu: 500m, memory: 256Mi}}");
            } else {
                AgentFileLoader.unknownKeys(resources, RESOURCE_KEYS, AT + ".resources.", problems);
                requests =
                        mapping(
                                resources.path("requests"),
                                AT + ".resources.requests",
                                false,
                                problems);
                limits =
                        mapping(
                                resources.path("limits"),
                                AT + ".resources.limits",
                                false,
                                problems);
            }
        }
        boolean report = false;
        if (node.has("report")) {
            if (!node.get("report").isBoolean()) {
                problems.add(AT + ".report: must be true or false");
            } else {
                report = node.get("report").asBoolean();
            }
        }
        return new KubernetesSpec(
                image,
                command,
                env,
                secret,
                namespace,
                context,
                new KubernetesSpec.Pod(account, selector, tolerations, requests, limits),
                report);
    }

    private static List<String> strings(JsonNode node, String at, List<String> problems) {
        List<String> values = new ArrayList<>();
        if (node.isMissingNode()) {
            return List.of();
        }
        if (!node.isArray()) {
            problems.add(at + ": must be a list of strings, e.g. [\"python3\", \"agent.py\"]");
            return List.of();
        }
        for (int i = 0; i < node.size(); i++) {
            if (node.get(i).isTextual()) {
                values.add(node.get(i).asText());
            } else {
                problems.add(at + "[" + i + "]: must be a string");
            }
        }
        return List.copyOf(values);
    }

    /**
     * A mapping of names to scalar values (numbers and booleans read as text); {@code references}
     * lets values hold {@code ${env:NAME}} references.
     */
    private static Map<String, String> mapping(
            JsonNode node, String at, boolean references, List<String> problems) {
        if (node.isMissingNode()) {
            return Map.of();
        }
        if (!node.isObject()) {
            problems.add(at + ": must be a mapping of names to strings");
            return Map.of();
        }
        Map<String, String> values = new LinkedHashMap<>();
        node.fieldNames()
                .forEachRemaining(
                        k -> {
                            JsonNode v = node.get(k);
                            if (references) {
                                String s =
                                        SpecValues.string(node, k, at + "." + k, false, problems);
                                if (s != null) {
                                    values.put(k, s);
                                }
                            } else if (v.isValueNode() && !v.isNull()) {
                                values.put(k, v.asText());
                            } else {
                                problems.add(at + "." + k + ": must be a string");
                            }
                        });
        return Map.copyOf(values);
    }
}
