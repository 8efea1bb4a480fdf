package dev.pulse.workers.queue;

/** Why a running attempt was interrupted, which decides how it is recorded. */
public enum StopReason {
    /** The task's cancellation was requested: record it cancelled. */
    CANCELLED,
    /**
     * The lease was lost (the task was rescued elsewhere): record nothing, the result would be
     * stale.
     */
    LEASE_LOST,
    /** This node is shutting down: hand the task back to the queue. */
    SHUTDOWN
}
