package dev.pulse.executors;

import dev.pulse.executors.agents.AgentDefinition;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Resolves the executor an agent declares. For {@code auto} it picks the first available kind in
 * the order serverless, local, container, and says why, for the attempt's record.
 */
public final class ExecutorFactory {

    public static final String AUTO = "auto";
    private static final List<String> AUTO_ORDER = List.of("serverless", "local", "container");

    private final Map<String, Executor> byKind = new LinkedHashMap<>();

    public ExecutorFactory(List<Executor> executors) {
        for (Executor executor : executors) {
            if (byKind.putIfAbsent(executor.kind(), executor) != null) {
                throw new IllegalArgumentException("two executors claim kind " + executor.kind());
            }
        }
    }

    /**
     * The executor an agent runs on (empty if none can run it), and for {@code auto} how it was
     * chosen.
     */
    public record Choice(Optional<Executor> executor, String reason) {}

    public Optional<Executor> executorFor(AgentDefinition agent) {
        return choose(agent).executor();
    }

    public Choice choose(AgentDefinition agent) {
        if (!AUTO.equals(agent.executor())) {
            return new Choice(Optional.ofNullable(byKind.get(agent.executor())), null);
        }
        List<String> passedOver = new ArrayList<>();
        for (String kind : AUTO_ORDER) {
            Executor executor = byKind.get(kind);
            String why = executor == null ? "not on this node" : whyNot(executor, agent);
            if (why == null) {
                return new Choice(
                        Optional.of(executor),
                        "executor auto chose "
                                + kind
                                + (passedOver.isEmpty()
                                        ? ""
                                        : " (passed over " + String.join("; ", passedOver) + ")"));
            }
            passedOver.add(kind + ": " + why);
        }
        return new Choice(
                Optional.empty(),
                "executor auto found no executor for this agent: " + String.join("; ", passedOver));
    }

    /**
     * Why {@code executor} can't run {@code agent}, or null; the settings first, as availability
     * may ask an engine.
     */
    private static String whyNot(Executor executor, AgentDefinition agent) {
        List<String> problems = executor.validate(agent);
        if (!problems.isEmpty()) {
            return String.join(", ", problems);
        }
        Availability availability = executor.availability();
        return availability.available() ? null : availability.reason();
    }

    public boolean knowsKind(String kind) {
        return AUTO.equals(kind) || byKind.containsKey(kind);
    }
}
