package dev.pulse.workers.queue;

/**
 * An attempt running on this node, and the means to stop it: the thread running it is interrupted
 * with a reason, but only while the attempt is still executing, so an interrupt never lands on a
 * later attempt that reuses the thread.
 */
final class RunningAttempt {

    private final ClaimedTask claimed;
    private Thread thread;
    private boolean executing;
    private StopReason stopReason;

    RunningAttempt(ClaimedTask claimed) {
        this.claimed = claimed;
    }

    ClaimedTask claimed() {
        return claimed;
    }

    synchronized void executingOn(Thread thread) {
        this.thread = thread;
        this.executing = true;
    }

    /** Marks execution over; returns the reason it was stopped, or null if it ran to its end. */
    synchronized StopReason finished() {
        executing = false;
        thread = null;
        return stopReason;
    }

    /** Asks the attempt to stop; the first reason given wins. */
    synchronized void stop(StopReason reason) {
        if (stopReason == null) {
            stopReason = reason;
        }
        if (executing) {
            thread.interrupt();
        }
    }
}
