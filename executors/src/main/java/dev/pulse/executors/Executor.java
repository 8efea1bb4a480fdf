package dev.pulse.executors;

import dev.pulse.executors.agents.AgentDefinition;
import java.util.List;

/**
 * Runs one attempt of an agent. Implementations enforce the request's timeout themselves (a {@code
 * timeout} result) and treat an interrupt of the calling thread as cancellation or the node's
 * shutdown: they stop the run (kill the process, abort the call) and promptly throw {@link
 * InterruptedException}, never return a result, which would be recorded as the attempt's outcome
 * instead of the task being cancelled or handed back. ExecutorContract (in the tests) holds every
 * implementation to this.
 */
public interface Executor {

    /** The name agents use to select this executor in {@code spec.executor}. */
    String kind();

    ExecutionResult execute(ExecutionRequest request) throws InterruptedException;

    /** Whether this executor can run anything on this node right now, and if not, why. */
    default Availability availability() {
        return Availability.AVAILABLE;
    }

    /**
     * Problems with an agent definition this executor would refuse to run, each naming its path.
     */
    default List<String> validate(AgentDefinition agent) {
        return List.of();
    }
}
