package dev.pulse.server.api.workers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.server.api.JsonBodies;
import dev.pulse.server.api.Problem;
import dev.pulse.server.api.ProblemException;
import dev.pulse.workers.json.FieldChecks;
import dev.pulse.workers.json.FieldError;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads the body of {@code POST /v1/workers/claim}: {@code {"worker": "…", "agents": ["…"],
 * "limit": N, "wait_seconds": W}}. Only agents of executor {@code remote} may be claimed this way.
 */
final class ClaimParser {

    record Claim(String worker, List<String> agents, int limit, Duration waitFor) {}

    static final int MAX_LIMIT = 100;
    static final int MAX_WAIT_SECONDS = 60;
    static final int MAX_AGENTS = 100;
    static final Pattern WORKER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._:@-]{0,99}");
    private static final String EXAMPLE =
            "{\"worker\": \"host-1\", \"agents\": [\"summarize\"], \"limit\": 1, \"wait_seconds\": 30}";
    private static final Set<String> FIELDS = Set.of("worker", "agents", "limit", "wait_seconds");

    private final ObjectMapper json;
    private final AgentRegistry agents;

    ClaimParser(ObjectMapper json, AgentRegistry agents) {
        this.json = json;
        this.agents = agents;
    }

    Claim parse(String body) {
        JsonNode root = JsonBodies.object(json, body, EXAMPLE);
        List<FieldError> errors = new ArrayList<>();
        FieldChecks.noUnknownFields(root, FIELDS, "", errors);
        String worker = worker(root.get("worker"), errors);
        List<String> names = agents(root.get("agents"), errors);
        int limit = (int) number(root.get("limit"), "limit", 1, 1, MAX_LIMIT, true, errors);
        double wait =
                number(
                        root.get("wait_seconds"),
                        "wait_seconds",
                        0,
                        0,
                        MAX_WAIT_SECONDS,
                        false,
                        errors);
        if (!errors.isEmpty()) {
            throw new ProblemException(Problem.invalid(422, errors));
        }
        return new Claim(worker, names, limit, Duration.ofMillis(Math.round(wait * 1000)));
    }

    private static String worker(JsonNode node, List<FieldError> errors) {
        if (node == null || node.isNull()) {
            errors.add(
                    new FieldError(
                            "worker",
                            "is required: a name for this worker, the same across its claims (e.g. host and pid)"));
            return null;
        }
        if (!node.isTextual() || !WORKER.matcher(node.asText()).matches()) {
            errors.add(
                    new FieldError(
                            "worker",
                            "must be 1-100 characters of letters, digits, '.', '_', ':', '@' or '-',"
                                    + " starting with a letter or digit"));
            return null;
        }
        return node.asText();
    }

    private List<String> agents(JsonNode node, List<FieldError> errors) {
        if (node == null || !node.isArray() || node.isEmpty() || node.size() > MAX_AGENTS) {
            errors.add(
                    new FieldError(
                            "agents",
                            "must be a list of 1 to "
                                    + MAX_AGENTS
                                    + " names of agents with executor remote, e.g. [\"summarize\"]"));
            return List.of();
        }
        Set<String> names = new LinkedHashSet<>();
        for (JsonNode item : node) {
            if (!item.isTextual()) {
                errors.add(new FieldError("agents", "must hold agent names (strings)"));
                continue;
            }
            String name = item.asText();
            Optional<AgentDefinition> agent = agents.find(name);
            if (agent.isEmpty()) {
                errors.add(new FieldError("agents", FieldChecks.unknownAgent(name, agents)));
            } else if (!agent.get().isRemote()) {
                errors.add(
                        new FieldError(
                                "agents",
                                "agent '"
                                        + name
                                        + "' has executor "
                                        + agent.get().executor()
                                        + ": Pulse runs it itself; only agents with executor remote"
                                        + " are claimed by workers"));
            } else {
                names.add(name);
            }
        }
        return List.copyOf(names);
    }

    private static double number(
            JsonNode node,
            String field,
            double fallback,
            double min,
            double max,
            boolean integral,
            List<FieldError> errors) {
        if (node == null || node.isNull()) {
            return fallback;
        }
        boolean ok =
                (integral ? node.isIntegralNumber() : node.isNumber())
                        && node.asDouble() >= min
                        && node.asDouble() <= max;
        if (!ok) {
            errors.add(
                    new FieldError(
                            field,
                            "must be "
                                    + (integral ? "an integer" : "a number")
                                    + " from "
                                    + (long) min
                                    + " to "
                                    + (long) max
                                    + ", got "
                                    + node));
            return fallback;
        }
        return node.asDouble();
    }
}
