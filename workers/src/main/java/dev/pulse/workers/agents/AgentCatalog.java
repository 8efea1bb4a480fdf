package dev.pulse.workers.agents;

import dev.pulse.executors.ExecutorFactory;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.AgentFileLoader;
import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.executors.local.JavaAgents;
import dev.pulse.workers.config.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/** Agents declared as code: the in-JVM ones plus those in agent files, all validated. */
public final class AgentCatalog {

    private AgentCatalog() {}

    /**
     * @throws ConfigException listing every problem of every agent file
     */
    public static AgentRegistry load(
            Path agentsDir, JavaAgents javaAgents, ExecutorFactory executors) {
        return registry(validFiles(agentsDir, executors), javaAgents);
    }

    /**
     * @throws ConfigException when a file agent clashes with a built-in or another file agent
     */
    private static AgentRegistry registry(AgentFileLoader.Loaded loaded, JavaAgents javaAgents) {
        List<AgentDefinition> all = new ArrayList<>(javaAgents.definitions());
        all.addAll(loaded.agents());
        try {
            return new AgentRegistry(all);
        } catch (IllegalArgumentException e) {
            throw new ConfigException(List.of(e.getMessage()));
        }
    }

    /**
     * Validates the agent files and stores them in the shared {@code agents} table, where every
     * node picks them up. Returns how many were created, updated or unchanged.
     *
     * @throws ConfigException listing every problem; nothing is stored then
     */
    public static Map<AgentStore.Change, Integer> apply(
            Path agentsDir, JavaAgents javaAgents, ExecutorFactory executors, AgentStore store) {
        AgentFileLoader.Loaded loaded = validFiles(agentsDir, executors);
        registry(loaded, javaAgents); // a clash with a built-in is a problem too
        Map<AgentStore.Change, Integer> counts = new EnumMap<>(AgentStore.Change.class);
        for (AgentStore.Change c : AgentStore.Change.values()) {
            counts.put(c, 0);
        }
        String base =
                (Files.isDirectory(agentsDir) ? agentsDir : agentsDir.toAbsolutePath().getParent())
                        .toAbsolutePath()
                        .normalize()
                        .toString();
        for (int i = 0; i < loaded.agents().size(); i++) {
            AgentDefinition agent = loaded.agents().get(i);
            counts.merge(
                    store.save(agent.name(), loaded.documents().get(i), base, agent.source()),
                    1,
                    Integer::sum);
        }
        return counts;
    }

    private static AgentFileLoader.Loaded validFiles(Path agentsDir, ExecutorFactory executors) {
        AgentFileLoader loader = new AgentFileLoader();
        AgentFileLoader.Loaded loaded =
                Files.isRegularFile(agentsDir)
                        ? loader.loadFile(agentsDir)
                        : loader.loadDirectory(agentsDir);
        List<String> problems = new ArrayList<>(loaded.problems());
        for (AgentDefinition agent : loaded.agents()) {
            executors
                    .executorFor(agent)
                    .ifPresentOrElse(
                            e ->
                                    e.validate(agent)
                                            .forEach(p -> problems.add(agent.source() + ": " + p)),
                            () ->
                                    problems.add(
                                            agent.source()
                                                    + ": spec.executor: no executor of kind "
                                                    + agent.executor()));
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return loaded;
    }
}
