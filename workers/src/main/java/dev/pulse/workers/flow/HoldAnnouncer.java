package dev.pulse.workers.flow;

import java.util.List;
import org.jdbi.v3.core.Handle;

/**
 * Announces holds that began (the operator alerts), inside the transaction that began them: what it
 * writes there (an outbox row) commits with the hold or not at all, so each hold is announced once
 * across all nodes, even if the node stops right after.
 */
@FunctionalInterface
public interface HoldAnnouncer {

    /** Announces nothing. */
    HoldAnnouncer NONE = (handle, begun) -> {};

    void announce(Handle handle, List<AgentHolds.Begun> begun);
}
