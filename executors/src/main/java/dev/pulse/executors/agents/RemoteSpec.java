package dev.pulse.executors.agents;

import java.time.Duration;

/**
 * Settings of the {@code remote} executor: the agent is run by workers outside Pulse that claim its
 * tasks over HTTP; {@code lease} is how long a claim (and each heartbeat) holds a task before the
 * rescuer may give it to another worker.
 */
public record RemoteSpec(Duration lease) {

    public static final Duration DEFAULT_LEASE = Duration.ofSeconds(30);
    public static final Duration MIN_LEASE = Duration.ofSeconds(1);
    public static final Duration MAX_LEASE = Duration.ofHours(1);

    public static RemoteSpec defaults() {
        return new RemoteSpec(DEFAULT_LEASE);
    }
}
