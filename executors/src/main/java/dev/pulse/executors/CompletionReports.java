package dev.pulse.executors;

import java.net.URI;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;

/**
 * How an asynchronous agent reports its result: it is told where ({@link #url}) and with which
 * lease token, and later posts the result there itself; the executor meanwhile waits for that
 * report with {@link #await}, holding the attempt (and renewing its lease) until it arrives.
 */
public interface CompletionReports {

    /**
     * Where the agent reports the result of {@code taskId}; empty when this node does not know its
     * public address.
     */
    Optional<URI> url(UUID taskId);

    /**
     * Waits until the attempt holding {@code leaseToken} is no longer running: its result was
     * reported (and recorded), or the task left it some other way. Returns the task's state then,
     * or empty if {@code timeout} passed first.
     */
    Optional<String> await(UUID taskId, UUID leaseToken, Duration timeout)
            throws InterruptedException;

    /** For a node that cannot take reports (a command that only validates agents). */
    CompletionReports NONE =
            new CompletionReports() {
                @Override
                public Optional<URI> url(UUID taskId) {
                    return Optional.empty();
                }

                @Override
                public Optional<String> await(UUID taskId, UUID leaseToken, Duration timeout) {
                    return Optional.empty();
                }
            };
}
