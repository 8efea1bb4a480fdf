package dev.pulse.executors.agents;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/** Reads {@code spec.remote} ({@code lease}); the block itself is optional. */
final class RemoteSpecParser {

    private static final Set<String> KEYS = Set.of("lease");

    private RemoteSpecParser() {}

    static RemoteSpec parse(JsonNode remote, List<String> problems) {
        if (remote.isMissingNode() || remote.isNull()) {
            return RemoteSpec.defaults();
        }
        if (!remote.isObject()) {
            problems.add("spec.remote: must be a mapping, e.g. {lease: 30s}");
            return RemoteSpec.defaults();
        }
        AgentFileLoader.unknownKeys(remote, KEYS, "spec.remote.", problems);
        if (!remote.has("lease")) {
            return RemoteSpec.defaults();
        }
        var lease = Durations.parse(remote.get("lease").asText(""));
        if (lease.isEmpty()
                || lease.get().compareTo(RemoteSpec.MIN_LEASE) < 0
                || lease.get().compareTo(RemoteSpec.MAX_LEASE) > 0) {
            problems.add(
                    "spec.remote.lease: must be a duration from 1s to 1h such as 30s or 2m"
                            + " (a worker heartbeats every third of it)");
            return RemoteSpec.defaults();
        }
        return new RemoteSpec(Duration.ofMillis(lease.get().toMillis()));
    }
}
