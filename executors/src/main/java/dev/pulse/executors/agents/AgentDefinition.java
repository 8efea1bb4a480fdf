package dev.pulse.executors.agents;

import java.time.Duration;
import java.util.Objects;

/**
 * An agent as Pulse runs it: its name, the executor kind that runs it, its defaults for tasks that
 * don't set their own (timeout, attempts, retry backoff), how many of its tasks may run at once
 * across all nodes ({@code maxConcurrency}, null for no limit), and the settings of its executor:
 * {@code local}, {@code serverless}, {@code llm}, {@code container}, {@code kubernetes} or {@code
 * remote} (set exactly for {@code executor: remote}), each null unless the agent declares it.
 * {@code source} says where it was declared (a file, or "built-in"). {@code flow} holds the per-key
 * and rate limits ({@link FlowLimits#NONE} if none).
 *
 * <p>{@code serverless} and {@code llm} come after {@code source} because they were added later;
 * the nine-argument constructor (without them) is kept for existing callers.
 */
public record AgentDefinition(
        String name,
        String executor,
        Duration timeout,
        int maxAttempts,
        Integer maxConcurrency,
        Duration retryBase,
        Duration retryMax,
        LocalSpec local,
        String source,
        ServerlessSpec serverless,
        LlmSpec llm,
        ContainerSpec container,
        KubernetesSpec kubernetes,
        FlowLimits flow,
        RemoteSpec remote) {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(5);
    public static final int DEFAULT_MAX_ATTEMPTS = 3;
    public static final Duration DEFAULT_RETRY_BASE = Duration.ofSeconds(1);
    public static final Duration DEFAULT_RETRY_MAX = Duration.ofMinutes(10);

    public AgentDefinition {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(executor, "executor");
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(retryBase, "retryBase");
        Objects.requireNonNull(retryMax, "retryMax");
        flow = flow == null ? FlowLimits.NONE : flow;
    }

    /** Everything that limits how its tasks are claimed. */
    public AgentLimits limits() {
        return AgentLimits.of(this);
    }

    /**
     * An agent with every default: no concurrency limit, the default timeout, attempts and backoff.
     */
    public static AgentDefinition withDefaults(
            String name, String executor, LocalSpec local, String source) {
        return withDefaults(name, executor, local, null, null, source);
    }

    /**
     * Like {@link #withDefaults(String, String, LocalSpec, String)}, with any of the executors'
     * settings.
     */
    public static AgentDefinition withDefaults(
            String name,
            String executor,
            LocalSpec local,
            ServerlessSpec serverless,
            LlmSpec llm,
            String source) {
        return new AgentDefinition(
                name,
                executor,
                DEFAULT_TIMEOUT,
                DEFAULT_MAX_ATTEMPTS,
                null,
                DEFAULT_RETRY_BASE,
                DEFAULT_RETRY_MAX,
                local,
                source,
                serverless,
                llm,
                null,
                null,
                FlowLimits.NONE,
                null);
    }

    /** Whether workers outside Pulse run this agent ({@code executor: remote}). */
    public boolean isRemote() {
        return remote != null;
    }
}
