package dev.pulse.workers.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The queue's own metrics, counted by this node as things happen (never by counting rows): tasks
 * queued, attempts started and ended per agent, how long attempts ran, callback delivery attempts
 * by outcome and LLM tokens. A name says {@code attempts} where it counts attempts (a task retried
 * three times starts three), {@code tasks} where it counts tasks.
 */
public final class QueueMetrics {

    /**
     * The upper bounds of the run-time histogram's buckets, up to the longest timeout a task may
     * have (7 days, the API's largest {@code timeout_seconds}): a run of any allowed length lands
     * in a bucket of its size, not only in {@code +Inf}.
     */
    static final Duration[] RUN_BUCKETS =
            Stream.of(
                            "PT0.005S",
                            "PT0.01S",
                            "PT0.025S",
                            "PT0.05S",
                            "PT0.1S",
                            "PT0.25S",
                            "PT0.5S",
                            "PT1S",
                            "PT2.5S",
                            "PT5S",
                            "PT10S",
                            "PT30S",
                            "PT1M",
                            "PT2M",
                            "PT5M",
                            "PT10M",
                            "PT30M",
                            "PT1H",
                            "PT2H",
                            "PT6H",
                            "PT12H",
                            "P1D",
                            "P2D",
                            "P4D",
                            "P7D")
                    .map(Duration::parse)
                    .toArray(Duration[]::new);

    /**
     * The longest run the histogram has a bucket for: the API's largest {@code timeout_seconds}.
     */
    public static final Duration LONGEST_RUN = Duration.ofDays(7);

    private final MeterRegistry registry;

    /**
     * Meters already registered, by name and tags: a builder and a registry look-up per task added
     * up under load.
     */
    private final ConcurrentHashMap<String, Object> meters = new ConcurrentHashMap<>();

    public QueueMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Metrics that go nowhere, for code that runs without a server (tests, CLI). */
    public static QueueMetrics discarded() {
        return new QueueMetrics(new SimpleMeterRegistry());
    }

    public void queued(String agent) {
        ((Counter)
                        meters.computeIfAbsent(
                                "queued\0" + agent,
                                k ->
                                        Counter.builder("pulse.tasks.queued")
                                                .description("Tasks created")
                                                .tag("agent", agent)
                                                .register(registry)))
                .increment();
    }

    public void started(String agent) {
        ((Counter)
                        meters.computeIfAbsent(
                                "started\0" + agent,
                                k ->
                                        Counter.builder("pulse.attempts.started")
                                                .description("Attempts started")
                                                .tag("agent", agent)
                                                .register(registry)))
                .increment();
    }

    /**
     * @param outcome succeeded, failed (attempt failed; it may be retried), cancelled, released or
     *     throttled (the provider asked to be left alone; not counted against the task)
     */
    public void finished(String agent, String outcome, Duration took) {
        ((Counter)
                        meters.computeIfAbsent(
                                "finished\0" + agent + "\0" + outcome,
                                k ->
                                        Counter.builder("pulse.attempts.finished")
                                                .description("Attempts ended, by outcome")
                                                .tag("agent", agent)
                                                .tag("outcome", outcome)
                                                .register(registry)))
                .increment();
        ((Timer)
                        meters.computeIfAbsent(
                                "run\0" + agent,
                                k ->
                                        Timer.builder("pulse.attempt.run")
                                                .description("How long attempts ran")
                                                .tag("agent", agent)
                                                .serviceLevelObjectives(RUN_BUCKETS)
                                                .minimumExpectedValue(RUN_BUCKETS[0])
                                                .maximumExpectedValue(LONGEST_RUN)
                                                .register(registry)))
                .record(took);
    }

    /**
     * @param outcome delivered, retrying or dead
     */
    public void callback(String outcome) {
        ((Counter)
                        meters.computeIfAbsent(
                                "callbacks\0" + outcome,
                                k ->
                                        Counter.builder("pulse.callback.attempts")
                                                .description(
                                                        "Callback delivery attempts, by outcome")
                                                .tag("outcome", outcome)
                                                .register(registry)))
                .increment();
    }

    public void tokens(String agent, String kind, long count) {
        Counter.builder("pulse.llm.tokens")
                .description("LLM tokens used")
                .tag("agent", agent)
                .tag("kind", kind)
                .register(registry)
                .increment(count);
    }

    /** What an agent's runs cost at the configured prices ({@code PULSE_LLM_PRICES}). */
    public void cost(String agent, double usd) {
        Counter.builder("pulse.llm.cost.usd")
                .description("LLM cost in USD, at the configured prices")
                .tag("agent", agent)
                .register(registry)
                .increment(usd);
    }

    public MeterRegistry registry() {
        return registry;
    }
}
