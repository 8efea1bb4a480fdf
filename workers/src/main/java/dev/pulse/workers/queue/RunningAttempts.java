package dev.pulse.workers.queue;

import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/** The attempts running on this node, by task id: what the heartbeat renews and may stop. */
public final class RunningAttempts {

    private final Map<UUID, RunningAttempt> byTask = new ConcurrentHashMap<>();

    RunningAttempt add(ClaimedTask claimed) {
        RunningAttempt attempt = new RunningAttempt(claimed);
        byTask.put(claimed.id(), attempt);
        return attempt;
    }

    void remove(ClaimedTask claimed) {
        byTask.remove(claimed.id());
    }

    List<RunningAttempt> snapshot() {
        return List.copyOf(byTask.values());
    }

    void stop(UUID taskId, StopReason reason) {
        RunningAttempt attempt = byTask.get(taskId);
        if (attempt != null) {
            attempt.stop(reason);
        }
    }

    void stopAll(StopReason reason) {
        byTask.values().forEach(a -> a.stop(reason));
    }

    public int size() {
        return byTask.size();
    }
}
