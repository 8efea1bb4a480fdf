package dev.pulse.workers.budgets;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.agents.AgentBudget;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.llm.TokenEstimate;
import dev.pulse.workers.flow.AgentHolds;
import dev.pulse.workers.flow.WaitingReason;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * An {@code llm} agent's {@code tokens_per_minute}, on every node: a run is admitted when its
 * attempt starts only while the agent's last minute has room for its estimate ({@link
 * TokenEstimate}); the estimate is replaced by the usage the provider reports when the run ends. A
 * run not admitted goes back to the queue without using an attempt, and the agent is held ({@code
 * rate_limited}) until the oldest tokens leave the minute, so the claims leave its tasks alone
 * meanwhile; a minute the reported usage fills holds it the same way.
 */
public final class TokensPerMinute {

    private final TokenWindow window;
    private final AgentHolds holds;
    private final ObjectMapper json;

    public TokensPerMinute(TokenWindow window, AgentHolds holds, ObjectMapper json) {
        this.window = window;
        this.holds = holds;
        this.json = json;
    }

    /** The agent's limit, null if it has none. */
    private static Long limit(AgentDefinition agent) {
        AgentBudget budget = agent.flow().budget();
        return agent.llm() == null || budget == null ? null : budget.tokensPerMinute();
    }

    /**
     * Admits the attempt {@code leaseToken} of {@code agent} on {@code input}, logging its
     * estimate; answers why not when the minute has no room (the agent is then held until it
     * frees).
     */
    public Optional<String> admit(AgentDefinition agent, UUID leaseToken, JsonNode input) {
        Long limit = limit(agent);
        if (limit == null) {
            return Optional.empty();
        }
        long estimate = TokenEstimate.of(agent.llm(), input, json);
        TokenWindow.Admission admission = window.admit(agent.name(), leaseToken, estimate, limit);
        if (admission.admitted()) {
            return Optional.empty();
        }
        String why =
                "tokens_per_minute is "
                        + limit
                        + "; the last minute holds "
                        + admission.used()
                        + " tokens and this run is estimated at "
                        + estimate;
        // Not announced: a minute's window fills and frees all day long.
        holds.hold(List.of(agent.name()), WaitingReason.RATE_LIMITED, admission.frees(), why);
        return Optional.of(why + "; waiting until " + admission.frees());
    }

    /**
     * Replaces the attempt's estimate by the tokens of {@code usage} ({@code input_tokens} + {@code
     * output_tokens}; none reported counts 0) and holds the agent if the minute is full.
     */
    public void settle(AgentDefinition agent, UUID leaseToken, JsonNode usage) {
        Long limit = limit(agent);
        if (limit == null) {
            return;
        }
        Long reported = Overrun.tokens(usage);
        long used = reported == null ? 0 : reported;
        TokenWindow.Minute minute = window.settle(agent.name(), leaseToken, used);
        if (minute.tokens() >= limit) {
            Instant frees = minute.frees();
            holds.hold(
                    List.of(agent.name()),
                    WaitingReason.RATE_LIMITED,
                    frees,
                    "used "
                            + minute.tokens()
                            + " tokens in the last minute; tokens_per_minute is "
                            + limit);
        }
    }
}
