package dev.pulse.workers.queue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pulse.executors.ExecutionError;
import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.ExecutionResult;
import dev.pulse.executors.ExecutorFactory;
import dev.pulse.executors.TraceContext;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.AgentRegistry;
import dev.pulse.workers.budgets.DailyBudgets;
import dev.pulse.workers.budgets.Overrun;
import dev.pulse.workers.budgets.TaskBudget;
import dev.pulse.workers.budgets.TokensPerMinute;
import dev.pulse.workers.flow.ProviderBackoffs;
import dev.pulse.workers.metrics.QueueMetrics;
import dev.pulse.workers.tracing.TaskTracing;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Runs one claimed attempt on its agent's executor and hands how it ended to {@link EndedAttempts}
 * (the {@link BatchCompleter}). If the database is unreachable, the completer retries recording
 * until it answers again (the lease is not given up for an outage), so an outage never turns a
 * finished run into a failure.
 */
public final class TaskRunner {

    private static final Logger log = LoggerFactory.getLogger(TaskRunner.class);

    private final AgentRegistry agents;
    private final ExecutorFactory executors;
    private final EndedAttempts ended;
    private final QueueMetrics metrics;
    private final AttemptSpans spans;
    private final ProviderBackoffs backoffs;
    private final DailyBudgets budgets;
    private final TokensPerMinute tokens;

    public TaskRunner(
            AgentRegistry agents,
            ExecutorFactory executors,
            EndedAttempts ended,
            QueueMetrics metrics) {
        this(agents, executors, ended, metrics, TaskTracing.off(), null, null, null);
    }

    /**
     * @param tracing makes each attempt's execution span, whose context the agent receives
     * @param backoffs where a provider's "leave me alone until" goes; null to treat such answers as
     *     ordinary failures
     * @param budgets where runs' usage is added up and daily budgets held; null for none
     * @param tokens admits runs of agents with {@code tokens_per_minute} when they start; null for
     *     none
     */
    public TaskRunner(
            AgentRegistry agents,
            ExecutorFactory executors,
            EndedAttempts ended,
            QueueMetrics metrics,
            TaskTracing tracing,
            ProviderBackoffs backoffs,
            DailyBudgets budgets,
            TokensPerMinute tokens) {
        this.spans = new AttemptSpans(tracing);
        this.agents = agents;
        this.executors = executors;
        this.ended = ended;
        this.metrics = metrics;
        this.backoffs = backoffs;
        this.budgets = budgets;
        this.tokens = tokens;
    }

    void run(RunningAttempt attempt) {
        ClaimedTask claimed = attempt.claimed();
        MDC.put("task_id", claimed.id().toString());
        MDC.put("agent", claimed.task().agent());
        try {
            ExecutionResult result = null;
            String agent = claimed.task().agent();
            Optional<AgentDefinition> admitted = agents.find(agent);
            Optional<String> refused = admit(claimed, admitted);
            if (refused.isPresent()) {
                log.debug("attempt {} not admitted: {}", claimed.attempt(), refused.get());
                ended.throttled(
                        claimed, new ExecutionError(ExecutionError.THROTTLED, refused.get()), null);
                return;
            }
            metrics.started(agent);
            long start = System.nanoTime();
            attempt.executingOn(Thread.currentThread());
            Optional<AgentDefinition> definition = agents.find(agent);
            AttemptSpans.Execution span = spans.start(claimed, definition);
            try {
                result = execute(claimed, definition, span.context());
            } catch (InterruptedException e) {
                // Stopped on purpose; the reason says how to record it.
            } catch (RuntimeException e) {
                log.error("executor failed unexpectedly on attempt {}", claimed.attempt(), e);
                result =
                        ExecutionResult.failure(
                                ExecutionError.AGENT_ERROR, "the executor failed: " + e);
            }
            StopReason reason = attempt.finished();
            Thread.interrupted(); // an interrupt that raced with the end of execution must not
            // hit the recording
            span.end(result, outcome(result, reason));
            metrics.finished(
                    agent, outcome(result, reason), Duration.ofNanos(System.nanoTime() - start));
            countTokens(agent, result);
            settle(claimed, admitted, result);
            addUsage(agent, claimed.task().concurrencyKey(), result);
            record(claimed, result, reason);
        } catch (InterruptedException e) {
            log.warn(
                    "gave up recording attempt {}: the node is stopping; the lease will expire and the task be rescued",
                    claimed.attempt());
            Thread.currentThread().interrupt();
        } finally {
            MDC.remove("task_id");
            MDC.remove("agent");
        }
    }

    private static String outcome(ExecutionResult result, StopReason reason) {
        if (reason == StopReason.CANCELLED && (result == null || !result.succeeded())) {
            return "cancelled";
        }
        if (result == null) {
            return reason == StopReason.LEASE_LOST ? "lost" : "released";
        }
        return result.succeeded() ? "succeeded" : result.isThrottled() ? "throttled" : "failed";
    }

    /**
     * Admits the attempt under its agent's {@code tokens_per_minute}, if it has one; answers why
     * not when the agent's minute is full. A failure to ask admits it: the window is a limit on
     * spending, not a reason to stop running.
     */
    private Optional<String> admit(ClaimedTask claimed, Optional<AgentDefinition> agent) {
        if (tokens == null || agent.isEmpty()) {
            return Optional.empty();
        }
        try {
            return tokens.admit(agent.get(), claimed.leaseToken(), claimed.task().input());
        } catch (RuntimeException e) {
            log.warn(
                    "could not admit attempt {} under tokens_per_minute; running it: {}",
                    claimed.attempt(),
                    e.toString());
            return Optional.empty();
        }
    }

    /** Replaces the attempt's estimated tokens by those it reported. */
    private void settle(
            ClaimedTask claimed, Optional<AgentDefinition> agent, ExecutionResult result) {
        if (tokens == null || agent.isEmpty()) {
            return;
        }
        JsonNode usage = Overrun.usage(result);
        try {
            tokens.settle(agent.get(), claimed.leaseToken(), usage);
        } catch (RuntimeException e) {
            log.warn(
                    "could not settle attempt {}'s tokens; its estimate stays: {}",
                    claimed.attempt(),
                    e.toString());
        }
    }

    /** LLM agents report token usage in their result; count it. */
    private void countTokens(String agent, ExecutionResult result) {
        if (result == null || !result.succeeded() || result.output() == null) {
            return;
        }
        var usage = result.output().path("usage");
        if (usage.path("input_tokens").canConvertToLong()
                && usage.path("output_tokens").canConvertToLong()) {
            metrics.tokens(agent, "input", usage.path("input_tokens").asLong());
            metrics.tokens(agent, "output", usage.path("output_tokens").asLong());
        }
    }

    /** What the run's reported usage cost at the configured prices; null if unknown. */
    private BigDecimal cost(String agent, ExecutionResult result) {
        JsonNode usage = Overrun.usage(result);
        if (budgets == null || usage == null) {
            return null;
        }
        return agents.find(agent)
                .filter(a -> a.llm() != null)
                .map(
                        a ->
                                budgets.cost(
                                        a.llm().model(),
                                        usage.path("input_tokens").asLong(),
                                        usage.path("output_tokens").asLong()))
                .orElse(null);
    }

    /** Adds the run's usage to its agent's day (and holds the agent if its budget is spent). */
    private void addUsage(String agent, String key, ExecutionResult result) {
        if (budgets == null || result == null || result.output() == null) {
            return;
        }
        Optional<AgentDefinition> definition = agents.find(agent);
        if (definition.isEmpty() || definition.get().llm() == null) {
            return;
        }
        try {
            JsonNode usage = result.output().path("usage");
            BigDecimal cost =
                    budgets.cost(
                            definition.get().llm().model(),
                            usage.path("input_tokens").asLong(),
                            usage.path("output_tokens").asLong());
            if (cost != null) {
                metrics.cost(agent, cost.doubleValue());
            }
            budgets.record(definition.get(), key, result.output());
        } catch (RuntimeException e) {
            // The run's own outcome matters more than its bookkeeping: record it regardless.
            log.warn("could not add attempt's usage to agent {}'s day: {}", agent, e.toString());
        }
    }

    private ExecutionResult execute(
            ClaimedTask claimed, Optional<AgentDefinition> agent, TraceContext trace)
            throws InterruptedException {
        if (agent.isEmpty()) {
            return ExecutionResult.failure(
                    ExecutionError.EXECUTOR_UNAVAILABLE,
                    "agent '"
                            + claimed.task().agent()
                            + "' is not declared on this node; add it to its agents directory");
        }
        ExecutorFactory.Choice choice = executors.choose(agent.get());
        if (choice.executor().isEmpty()) {
            return ExecutionResult.failure(
                    ExecutionError.EXECUTOR_UNAVAILABLE,
                    choice.reason() != null
                            ? choice.reason()
                            : "no executor of kind '"
                                    + agent.get().executor()
                                    + "' is available on this node");
        }
        log.debug("attempt {} starting", claimed.attempt());
        ExecutionResult result =
                choice.executor()
                        .get()
                        .execute(
                                new ExecutionRequest(
                                        claimed.id(),
                                        claimed.attempt(),
                                        claimed.leaseToken(),
                                        agent.get(),
                                        claimed.task().input(),
                                        Overrun.timeout(
                                                Duration.ofSeconds(claimed.task().timeoutSeconds()),
                                                TaskBudget.of(claimed.task().budget())),
                                        trace));
        return choice.reason() == null ? result : result.withNote(choice.reason());
    }

    /** Records the attempt as over budget if it went over its task's budget. */
    private boolean overBudget(ClaimedTask claimed, ExecutionResult result)
            throws InterruptedException {
        Optional<ExecutionError> over =
                Overrun.of(
                        TaskBudget.of(claimed.task().budget()),
                        result,
                        Duration.ofSeconds(claimed.task().timeoutSeconds()),
                        cost(claimed.task().agent(), result));
        if (over.isEmpty()) {
            return false;
        }
        ended.overBudget(
                claimed,
                over.get(),
                Overrun.usage(result),
                result.succeeded() ? result.output() : null,
                result.logs());
        return true;
    }

    /**
     * Hands the attempt's end over for recording; blocks while the recording falls behind
     * (back-pressure).
     */
    private void record(ClaimedTask claimed, ExecutionResult result, StopReason reason)
            throws InterruptedException {
        if (result != null && result.alreadyRecorded()) {
            log.debug("attempt {}: the agent reported its result itself", claimed.attempt());
        } else if (reason == StopReason.CANCELLED && (result == null || !result.succeeded())) {
            ended.cancelled(claimed, result == null ? null : result.logs());
        } else if (result == null) {
            if (reason == StopReason.LEASE_LOST) {
                log.warn(
                        "attempt {} stopped: it no longer holds the lease (the task was completed or rescued elsewhere)",
                        claimed.attempt());
            } else {
                ended.released(claimed);
            }
        } else if (overBudget(claimed, result)) {
            log.debug("attempt {} went over its task's budget", claimed.attempt());
        } else if (result.isThrottled() && backoffs != null) {
            // The hold first: the task must not be claimed again before its agent is held.
            agents.find(claimed.task().agent())
                    .ifPresent(a -> backoffs.hold(a, result.holdUntil(), result.error().message()));
            log.info(
                    "attempt {} throttled by the provider; agent held until {}",
                    claimed.attempt(),
                    result.holdUntil());
            ended.throttled(claimed, result.error(), result.logs());
        } else if (result.succeeded()) {
            // A result the database refuses (e.g. a string with a NUL character) is recorded by the
            // completer as an invalid_output failure.
            ended.succeeded(claimed, result.output(), result.logs());
        } else {
            ended.failed(claimed, result.error(), result.logs());
        }
    }
}
