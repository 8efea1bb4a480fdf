package dev.pulse.executors.agents;

import java.time.Duration;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The agents this node knows, by name. The set is replaced whole when agents change in the
 * database, so a reader always sees one consistent version. A name it doesn't know triggers a
 * refresh first, so an agent added on another node a moment ago is found rather than refused.
 */
public final class AgentRegistry {

    /** One version of the agents, with their limits worked out once rather than on every claim. */
    private record Version(
            Map<String, AgentDefinition> byName,
            Map<String, AgentLimits> limits,
            List<String> remote,
            Map<String, Duration> remoteLeases) {}

    private final Runnable refreshOnMiss;
    private volatile Version current;

    public AgentRegistry(Collection<AgentDefinition> agents) {
        this(agents, () -> {});
    }

    public AgentRegistry(Collection<AgentDefinition> agents, Runnable refreshOnMiss) {
        this.refreshOnMiss = refreshOnMiss;
        this.current = version(agents);
    }

    /** Swaps in a new set of agents. */
    public void replace(Collection<AgentDefinition> agents) {
        this.current = version(agents);
    }

    private static Version version(Collection<AgentDefinition> agents) {
        Map<String, AgentDefinition> byName = index(agents);
        Map<String, AgentLimits> limits = new TreeMap<>();
        byName.values().stream()
                .filter(a -> a.limits().any())
                .forEach(a -> limits.put(a.name(), a.limits()));
        List<String> remote =
                byName.values().stream()
                        .filter(AgentDefinition::isRemote)
                        .map(AgentDefinition::name)
                        .toList();
        Map<String, Duration> leases = new TreeMap<>();
        byName.values().stream()
                .filter(AgentDefinition::isRemote)
                .forEach(a -> leases.put(a.name(), a.remote().lease()));
        return new Version(
                byName,
                Collections.unmodifiableMap(limits),
                remote,
                Collections.unmodifiableMap(leases));
    }

    private static Map<String, AgentDefinition> index(Collection<AgentDefinition> agents) {
        Map<String, AgentDefinition> map = new TreeMap<>();
        for (AgentDefinition agent : agents) {
            AgentDefinition previous = map.put(agent.name(), agent);
            if (previous != null) {
                throw new IllegalArgumentException(
                        "agent '"
                                + agent.name()
                                + "' is declared twice: in "
                                + previous.source()
                                + " and in "
                                + agent.source()
                                + "; rename or remove one of them");
            }
        }
        return Collections.unmodifiableMap(map);
    }

    public Optional<AgentDefinition> find(String name) {
        AgentDefinition agent = current.byName().get(name);
        if (agent == null) {
            refreshOnMiss.run();
            agent = current.byName().get(name);
        }
        return Optional.ofNullable(agent);
    }

    public Collection<AgentDefinition> all() {
        return current.byName().values();
    }

    /**
     * The limits of every agent that has any ({@code max_concurrency}, per-key and rate limits), by
     * name (sorted), of the current version: claimers read it on every claim, so a limit set,
     * raised or removed through the agents table applies as soon as this node has re-read the
     * table.
     */
    public Map<String, AgentLimits> limits() {
        return current.limits();
    }

    /**
     * The names (sorted) of the agents run by remote workers, of the current version: the node's
     * own claimers leave their tasks alone.
     */
    public List<String> remote() {
        return current.remote();
    }

    /** The {@code spec.remote.lease} of every remote agent, by name (sorted). */
    public Map<String, Duration> remoteLeases() {
        return current.remoteLeases();
    }
}
