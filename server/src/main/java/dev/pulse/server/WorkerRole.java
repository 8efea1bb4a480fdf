package dev.pulse.server;

import dev.pulse.server.config.PulseConfig;
import dev.pulse.workers.alerts.OperatorAlerts;
import dev.pulse.workers.budgets.DailyBudgets;
import dev.pulse.workers.budgets.TokenWindow;
import dev.pulse.workers.budgets.TokensPerMinute;
import dev.pulse.workers.budgets.UsageLedger;
import dev.pulse.workers.callbacks.CallbackDispatcher;
import dev.pulse.workers.flow.AgentHolds;
import dev.pulse.workers.flow.HoldAnnouncer;
import dev.pulse.workers.flow.ProviderBackoffs;
import dev.pulse.workers.queue.BatchCompleter;
import dev.pulse.workers.queue.Rescuer;
import dev.pulse.workers.queue.TaskClaimer;
import dev.pulse.workers.queue.TaskRunner;
import dev.pulse.workers.queue.Worker;
import dev.pulse.workers.tasks.DayPartitionDrops;
import dev.pulse.workers.tasks.HistoryPartitions;
import dev.pulse.workers.tasks.RetentionSchedule;
import dev.pulse.workers.tasks.RowPruning;
import dev.pulse.workers.timing.Backoff;
import java.time.Duration;
import org.slf4j.LoggerFactory;

/**
 * The worker role: the callback dispatcher, the rescuer, the history's partitions and retention
 * (day partitions dropped, rows pruned), and the claim loop.
 */
final class WorkerRole {

    private WorkerRole() {}

    static void start(NodeCore core) {
        PulseConfig config = core.config;
        core.parts.start(
                new CallbackDispatcher(
                        core.database.jdbi(),
                        new CallbackDispatcher.Sending(
                                core.http,
                                core.signer,
                                new Backoff(
                                        Duration.ofSeconds(2), Duration.ofMinutes(30), core.random),
                                core.tracing),
                        core.clock,
                        core.dispatcherWakeUp,
                        new CallbackDispatcher.Settings(
                                config.callbackConcurrency(),
                                config.callbackMaxAttempts(),
                                config.workerPollInterval(),
                                config.callbackTimeout(),
                                config.callbackPerDestination()),
                        core.localDeliveries,
                        core.metrics));
        core.parts.start(
                new Rescuer(
                        core.database.jdbi(),
                        core.json,
                        core.outbox,
                        core.clock,
                        config.leaseDuration()));
        // The history's day partitions exist before this node finishes its first task.
        HistoryPartitions partitions = new HistoryPartitions(core.database.jdbi());
        try {
            partitions.ensure();
        } catch (RuntimeException e) {
            LoggerFactory.getLogger(WorkerRole.class)
                    .warn("could not make the history's partitions at start: {}", e.getMessage());
        }
        core.parts.start(partitions);
        if (!config.retention().isZero()) {
            // Two duties, each needing none of the other's work first (DayPartitionDrops says why).
            RetentionSchedule retention =
                    new RetentionSchedule(config.retention(), Duration.ofMinutes(1));
            core.parts.start(new DayPartitionDrops(core.database.jdbi(), retention));
            core.parts.start(new RowPruning(core.database.jdbi(), retention));
        }
        // Holds that begin (a provider's back-off, a spent budget) are announced to the operator,
        // through the callback outbox in the transaction that begins them.
        AgentHolds holds =
                new AgentHolds(
                        core.database.jdbi(),
                        config.alertUrl() == null
                                ? HoldAnnouncer.NONE
                                : new OperatorAlerts(
                                        core.outbox, core.json, core.clock, config.alertUrl()));
        BatchCompleter completions =
                new BatchCompleter(
                        core.completer, BatchCompleter.Settings.DEFAULT, core.workerWakeUp::signal);
        core.parts.start(
                new Worker(
                        new TaskClaimer(
                                core.database.jdbi(),
                                core.json,
                                TaskClaimer.Settings.of(core.nodeId, config.leaseDuration())
                                        .withLimits(core.agents::limits)
                                        .withAgents(
                                                () ->
                                                        TaskClaimer.Agents.excluding(
                                                                core.agents.remote()))
                                        .withTracing(core.tracing)),
                        new TaskRunner(
                                core.agents,
                                core.executors,
                                completions,
                                core.metrics,
                                core.tracing,
                                new ProviderBackoffs(holds, core.agents),
                                new DailyBudgets(
                                        new UsageLedger(core.database.jdbi()),
                                        holds,
                                        config.llmPrices(),
                                        config.budgetZone(),
                                        core.clock),
                                new TokensPerMinute(
                                        new TokenWindow(core.database.jdbi()), holds, core.json)),
                        completions,
                        core.running,
                        core.workerWakeUp,
                        new Worker.Settings(
                                config.workerConcurrency(),
                                config.workerPollInterval(),
                                config.shutdownGrace())));
    }
}
