package dev.pulse.workers.flow;

import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.executors.agents.LlmSpec;
import java.time.Instant;
import java.util.Objects;
import java.util.TreeSet;

/**
 * Pauses an agent on every node when its provider answered "too many requests" or "not now" and
 * named until when. For an {@code llm} agent the limit is the provider's, per model: every agent of
 * the same provider and model is held. Holds that begin are announced by {@link AgentHolds} (the
 * operator alerts).
 */
public final class ProviderBackoffs {

    private final AgentHolds holds;
    private final AgentRegistry agents;

    public ProviderBackoffs(AgentHolds holds, AgentRegistry agents) {
        this.holds = holds;
        this.agents = agents;
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
        holds.hold(held, WaitingReason.PROVIDER_BACKOFF, until, detail);
    }
}
