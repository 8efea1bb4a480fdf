package dev.pulse.workers.flow;

/**
 * Why a due task waits in the queue. The order is the order in which {@link WaitingReasons} checks
 * them: the first that applies is the one shown.
 */
public enum WaitingReason {
    /** Its agent's provider asked to be left alone until a time (an {@link AgentHolds} hold). */
    PROVIDER_BACKOFF("provider_backoff"),
    /** Its agent's daily budget is spent until it renews (an {@link AgentHolds} hold). */
    BUDGET_EXHAUSTED("budget_exhausted"),
    /** Its agent runs {@code max_concurrency} tasks already. */
    CONCURRENCY_LIMITED("concurrency_limited"),
    /** Its agent started {@code rate_limit} tasks within the window. */
    RATE_LIMITED("rate_limited"),
    /** Its key runs {@code per_key_concurrency} of the agent's tasks already. */
    KEY_CONCURRENCY_LIMITED("key_concurrency_limited"),
    /** Its key started {@code per_key_rate_limit} of the agent's tasks within the window. */
    KEY_RATE_LIMITED("rate_limited");

    private final String wire;

    WaitingReason(String wire) {
        this.wire = wire;
    }

    /** As the API, the dashboard and the metrics' {@code reason} label write it. */
    public String wire() {
        return wire;
    }

    /** The first reason written {@code wire}. */
    public static WaitingReason ofWire(String wire) {
        for (WaitingReason r : values()) {
            if (r.wire.equals(wire)) {
                return r;
            }
        }
        throw new IllegalArgumentException("no waiting reason " + wire);
    }
}
