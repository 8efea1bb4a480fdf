package dev.pulse.executors.agents;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads {@code spec.container} of an agent document, reporting every problem with its path. */
final class ContainerSpecParser {

    private static final String AT = "spec.container";
    private static final Set<String> KEYS =
            Set.of("image", "command", "env", "memory", "cpus", "pids", "network");
    private static final Pattern SIZE = Pattern.compile("(\\d{1,12})([kmg]?)b?");

    private ContainerSpecParser() {}

    static ContainerSpec parse(JsonNode node, List<String> problems) {
        if (!node.isObject()) {
            problems.add(
                    AT + ": is required for executor container and must be a mapping with image");
            return null;
        }
        AgentFileLoader.unknownKeys(node, KEYS, AT + ".", problems);
        String image = SpecValues.string(node, "image", AT + ".image", true, problems);
        List<String> command = new ArrayList<>();
        JsonNode cmd = node.path("command");
        if (!cmd.isMissingNode()) {
            if (!cmd.isArray()) {
                problems.add(
                        AT
                                + ".command: must be a list of strings, e.g. [\"python3\", \"agent.py\"]");
            } else {
                for (int i = 0; i < cmd.size(); i++) {
                    if (cmd.get(i).isTextual()) {
                        command.add(cmd.get(i).asText());
                    } else {
                        problems.add(AT + ".command[" + i + "]: must be a string");
                    }
                }
            }
        }
        Map<String, String> env = new LinkedHashMap<>();
        JsonNode envNode = node.path("env");
        if (!envNode.isMissingNode()) {
            if (!envNode.isObject()) {
                problems.add(AT + ".env: must be a mapping of names to strings");
            } else {
                envNode.fieldNames()
                        .forEachRemaining(
                                k -> {
                                    String v =
                                            SpecValues.string(
                                                    envNode, k, AT + ".env." + k, false, problems);
                                    if (v != null) {
                                        env.put(k, v);
                                    }
                                });
            }
        }
        long memory = ContainerSpec.DEFAULT_MEMORY;
        if (node.has("memory")) {
            Matcher m = SIZE.matcher(node.get("memory").asText("").trim().toLowerCase(Locale.ROOT));
            long bytes =
                    !m.matches()
                            ? -1
                            : Long.parseLong(m.group(1))
                                    << switch (m.group(2)) {
                                        case "k" -> 10;
                                        case "m" -> 20;
                                        case "g" -> 30;
                                        default -> 0;
                                    };
            if (bytes < (6L << 20)) {
                problems.add(AT + ".memory: must be a size of at least 6m, such as 256m or 1g");
            } else {
                memory = bytes;
            }
        }
        double cpus = ContainerSpec.DEFAULT_CPUS;
        if (node.has("cpus")) {
            JsonNode n = node.get("cpus");
            if (!n.isNumber() || n.asDouble() < 0.01 || n.asDouble() > 256) {
                problems.add(AT + ".cpus: must be a number from 0.01 to 256, such as 0.5");
            } else {
                cpus = n.asDouble();
            }
        }
        long pids = ContainerSpec.DEFAULT_PIDS;
        if (node.has("pids")) {
            JsonNode n = node.get("pids");
            if (!n.isIntegralNumber() || n.asLong() < 1 || n.asLong() > 100_000) {
                problems.add(AT + ".pids: must be an integer from 1 to 100000");
            } else {
                pids = n.asLong();
            }
        }
        boolean network = false;
        if (node.has("network")) {
            if (!node.get("network").isBoolean()) {
                problems.add(AT + ".network: must be true or false");
            } else {
                network = node.get("network").asBoolean();
            }
        }
        return new ContainerSpec(
                image, List.copyOf(command), Map.copyOf(env), memory, cpus, pids, network);
    }
}
