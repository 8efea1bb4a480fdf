package dev.pulse.executors.agents;

import java.util.Collection;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The agents this node knows, by name. The set is replaced whole when agents change in the
 * database, so a reader always sees one consistent version.
 */
public final class AgentRegistry {

    private volatile Map<String, AgentDefinition> byName;

    public AgentRegistry(Collection<AgentDefinition> agents) {
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
        return Optional.ofNullable(byName.get(name));
    }

    public Collection<AgentDefinition> all() {
        return byName.values();
    }
}
