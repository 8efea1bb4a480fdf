package dev.pulse.workers.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;

/**
 * The queue's own metrics, counted by this node as things happen (never by counting rows):
 * tasks queued, started and finished per agent, run durations, callback outcomes and LLM tokens.
 */
public final class QueueMetrics {

    private final MeterRegistry registry;
    /** Meters already registered, by name and tags: a builder and a registry look-up per task added up under load. */
    private final java.util.concurrent.ConcurrentHashMap<String, Object> meters = new java.util.concurrent.ConcurrentHashMap<>();

    public QueueMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Metrics that go nowhere, for code that runs without a server (tests, CLI). */
    public static QueueMetrics discarded() {
        return new QueueMetrics(new SimpleMeterRegistry());
    }

    public void queued(String agent) {
        ((Counter) meters.computeIfAbsent("queued\0" + agent, k -> Counter.builder("pulse.tasks.queued")
                .description("Tasks created").tag("agent", agent).register(registry))).increment();
    }

    public void started(String agent) {
        ((Counter) meters.computeIfAbsent("started\0" + agent, k -> Counter.builder("pulse.tasks.started")
                .description("Attempts started").tag("agent", agent).register(registry))).increment();
    }

    /** @param outcome succeeded, failed (attempt failed; it may be retried), cancelled or released */
    public void finished(String agent, String outcome, Duration took) {
        ((Counter) meters.computeIfAbsent("finished\0" + agent + "\0" + outcome, k -> Counter.builder("pulse.tasks.finished")
                .description("Attempts ended, by outcome").tag("agent", agent).tag("outcome", outcome)
                .register(registry))).increment();
        ((Timer) meters.computeIfAbsent("run\0" + agent, k -> Timer.builder("pulse.task.run")
                .description("How long attempts ran").tag("agent", agent).publishPercentileHistogram()
                .register(registry))).record(took);
    }

    /** @param outcome delivered, retrying or dead */
    public void callback(String outcome) {
        ((Counter) meters.computeIfAbsent("callbacks\0" + outcome, k -> Counter.builder("pulse.callbacks")
                .description("Callback delivery attempts, by outcome").tag("outcome", outcome).register(registry)))
                .increment();
    }

    public void tokens(String agent, String kind, long count) {
        Counter.builder("pulse.llm.tokens").description("LLM tokens used").tag("agent", agent).tag("kind", kind)
                .register(registry).increment(count);
    }

    public MeterRegistry registry() {
        return registry;
    }
}
