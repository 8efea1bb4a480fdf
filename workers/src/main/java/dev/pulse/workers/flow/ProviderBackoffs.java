package dev.pulse.workers.flow;

import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.executors.agents.LlmSpec;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;
import java.util.function.Consumer;

/**
 * Pauses an agent on every node when its provider answered "too many requests" or "not now" and
 * named until when. For an {@code llm} agent the limit is the provider's, per model: every agent of
 * the same provider and model is held. Holds that begin are handed to {@code begun} (the operator
 * alerts).
 */
public final class ProviderBackoffs {

    /** Hands the holds that began to whoever announces them; does nothing. */
    public static final Consumer<List<AgentHolds.Begun>> UNANNOUNCED = begun -> {};

    private final AgentHolds holds;
    private final AgentRegistry agents;
    private final Consumer<List<AgentHolds.Begun>> begun;

    public ProviderBackoffs(
            AgentHolds holds, AgentRegistry agents, Consumer<List<AgentHolds.Begun>> begun) {
        this.holds = holds;
        this.agents = agents;
        this.begun = begun;
    }

    /** Holds {@code agent} (and the agents sharing its provider and model) until {@code until}. */
    public void hold(AgentDefinition agent, Instant until, String detail) {
        TreeSet<String> held = new TreeSet<>();
        held.add(agent.name());
        LlmSpec llm = agent.llm();
        if (llm != null) {
            for (AgentDefinition other : agents.all()) {
                if (other.llm() != null
                        && Objects.equals(other.llm().provider(), llm.provider())
                        && Objects.equals(other.llm().model(), llm.model())) {
                    held.add(other.name());
                }
            }
        }
        List<AgentHolds.Begun> started =
                holds.hold(held, WaitingReason.PROVIDER_BACKOFF, until, detail);
        if (!started.isEmpty()) {
            begun.accept(started);
        }
    }
}
