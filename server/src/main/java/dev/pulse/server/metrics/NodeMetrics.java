package dev.pulse.server.metrics;

import dev.pulse.workers.flow.WaitingReasons;
import dev.pulse.workers.tasks.TaskFigures;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.jdbi.v3.core.Jdbi;

/**
 * The node's metric registry: JVM and process metrics, plus queue lag, the age of the task at the
 * head of the claim order ({@link TaskFigures#headOfQueueAge}: one index probe, cached a few
 * seconds, never a count of rows) and the due, unclaimed tasks per agent ({@link ReadyTasks}).
 */
public final class NodeMetrics implements AutoCloseable {

    private static final Duration LAG_CACHE = Duration.ofSeconds(5);

    private final PrometheusMeterRegistry registry =
            new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final JvmGcMetrics gc = new JvmGcMetrics();
    private TaskFigures tasks;
    private Clock clock;
    private Instant lagReadAt = Instant.EPOCH;
    private double lag;

    public NodeMetrics() {
        new ClassLoaderMetrics().bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
    }

    /** Adds the queue-lag and ready-tasks gauges, read from {@code jdbi}. */
    public void watchQueue(Jdbi jdbi, Clock clock) {
        this.tasks = new TaskFigures(jdbi);
        this.clock = clock;
        Gauge.builder("pulse.queue.lag", this, NodeMetrics::queueLag)
                .baseUnit("seconds")
                .description("How long the next task to claim has been due (0 when none is due)")
                .register(registry);
        registry.getPrometheusRegistry().register(ReadyTasks.gauge(tasks, clock));
    }

    /** Adds the {@code pulse_tasks_waiting{reason}} gauge ({@link WaitingTasks}). */
    public void watchWaiting(WaitingReasons waiting, Clock clock) {
        registry.getPrometheusRegistry().register(WaitingTasks.gauge(waiting, clock));
    }

    private synchronized double queueLag() {
        Instant now = clock.instant();
        if (Duration.between(lagReadAt, now).compareTo(LAG_CACHE) >= 0) {
            try {
                lag = tasks.headOfQueueAge().orElse(0.0);
            } catch (RuntimeException e) {
                lag = Double.NaN; // the database is unreachable: say so rather than report a
                // stale figure
            }
            lagReadAt = now;
        }
        return lag;
    }

    public PrometheusMeterRegistry registry() {
        return registry;
    }

    @Override
    public void close() {
        gc.close();
        registry.close();
    }
}
