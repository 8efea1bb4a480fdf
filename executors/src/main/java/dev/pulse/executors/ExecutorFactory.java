package dev.pulse.executors;

import dev.pulse.executors.agents.AgentDefinition;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Resolves the executor an agent declares. For {@code auto} it picks the first available kind
 * in the order serverless, local, container.
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

    public Optional<Executor> executorFor(AgentDefinition agent) {
        if (!AUTO.equals(agent.executor())) {
            return Optional.ofNullable(byKind.get(agent.executor()));
        }
        return AUTO_ORDER.stream()
                .map(byKind::get)
                .filter(executor -> executor != null && executor.availability().available()
                        && executor.validate(agent).isEmpty())
                .findFirst();
    }

    public boolean knowsKind(String kind) {
        return AUTO.equals(kind) || byKind.containsKey(kind);
    }
}
