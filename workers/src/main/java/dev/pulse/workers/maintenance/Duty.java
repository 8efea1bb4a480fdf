package dev.pulse.workers.maintenance;

/**
 * A background duty of a node: something that runs on its own thread from {@link #start()} until
 * {@link #close()} (the rescuer, the heartbeat, retention, the cron ticker, …). The role that needs
 * a duty starts it through {@link Duties}, which closes the duties in reverse order and reports
 * each one's {@link #status()} as {@code pulse_duty_passes_total{duty,outcome}}.
 *
 * <p>A new duty goes beside the feature whose tables it works on; most are a {@link PeriodicDuty}.
 */
public interface Duty extends AutoCloseable {

    /** A short stable name, used as the metric's {@code duty} tag and in thread names. */
    String name();

    /** Starts the duty's thread; called once. */
    void start();

    /** Stops the duty, waiting (a bounded time) for a pass in progress to end. */
    @Override
    void close();

    /** How the duty has fared since it started. */
    Status status();

    /**
     * @param succeeded passes (or, for a listener, connections) that worked
     * @param failed passes that failed and will be retried
     * @param failing whether the latest pass failed
     */
    record Status(long succeeded, long failed, boolean failing) {}

    /**
     * A duty whose stop waits for its threads (the claim loops): {@link #close()} runs {@link
     * #stop()}, and an interrupt while waiting is kept for the caller to see.
     */
    interface Stoppable extends Duty {

        void stop() throws InterruptedException;

        @Override
        default void close() {
            try {
                stop();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
