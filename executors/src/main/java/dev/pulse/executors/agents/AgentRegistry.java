package dev.pulse.executors.agents;

import java.util.Collection;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The agents this node knows, by name. The set is replaced whole when agents change in the
 * database, so a reader always sees one consistent version. A name it doesn't know triggers a
 * refresh first, so an agent added on another node a moment ago is found rather than refused.
 */
public final class AgentRegistry {

    private final Runnable refreshOnMiss;
    private volatile Map<String, AgentDefinition> byName;

    public AgentRegistry(Collection<AgentDefinition> agents) {
        this(agents, () -> { });
    }

    public AgentRegistry(Collection<AgentDefinition> agents, Runnable refreshOnMiss) {
        this.refreshOnMiss = refreshOnMiss;
        this.byName = index(agents);
    }

    /** Swaps in a new set of agents. */
    public void replace(Collection<AgentDefinition> agents) {
        this.byName = index(agents);
    }

    private static Map<String, AgentDefinition> index(Collection<AgentDefinition> agents) {
        Map<String, AgentDefinition> map = new TreeMap<>();
        for (AgentDefinition agent : agents) {
            AgentDefinition previous = map.put(agent.name(), agent);
            if (previous != null) {
                throw new IllegalArgumentException("agent '" + agent.name() + "' is declared twice: in "
                        + previous.source() + " and in " + agent.source() + "; rename or remove one of them");
            }
        }
        return Collections.unmodifiableMap(map);
    }

    public Optional<AgentDefinition> find(String name) {
        AgentDefinition agent = byName.get(name);
        if (agent == null) {
            refreshOnMiss.run();
            agent = byName.get(name);
        }
        return Optional.ofNullable(agent);
    }

    public Collection<AgentDefinition> all() {
        return byName.values();
    }
}
