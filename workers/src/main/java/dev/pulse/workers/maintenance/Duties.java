package dev.pulse.workers.maintenance;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a node started, closed in reverse order of starting: its parts (the database, the HTTP
 * server, …) and its duties. Each duty is started here and reported as {@code
 * pulse_duty_passes_total{duty,outcome}} (outcome {@code succeeded} or {@code failed}).
 */
public final class Duties implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Duties.class);

    private final MeterRegistry registry;
    private final Deque<AutoCloseable> started = new ArrayDeque<>();

    public Duties(MeterRegistry registry) {
        this.registry = registry;
    }

    /** Starts {@code duty} and reports it; it is closed with the others. */
    public synchronized <T extends Duty> T start(T duty) {
        FunctionCounter.builder("pulse.duty.passes", duty, d -> d.status().succeeded())
                .tag("duty", duty.name())
                .tag("outcome", "succeeded")
                .description("Passes of a background duty, by outcome")
                .register(registry);
        FunctionCounter.builder("pulse.duty.passes", duty, d -> d.status().failed())
                .tag("duty", duty.name())
                .tag("outcome", "failed")
                .description("Passes of a background duty, by outcome")
                .register(registry);
        started.push(duty);
        duty.start();
        return duty;
    }

    /** A part that is already running: it is closed with the others. */
    public synchronized <T extends AutoCloseable> T add(T part) {
        started.push(part);
        return part;
    }

    /** The started duties, most recent first. */
    public synchronized List<Duty> all() {
        return started.stream().filter(Duty.class::isInstance).map(Duty.class::cast).toList();
    }

    @Override
    public synchronized void close() {
        while (!started.isEmpty()) {
            AutoCloseable part = started.pop();
            try {
                part.close();
            } catch (Exception e) {
                log.warn("error while stopping {}", part.getClass().getSimpleName(), e);
            }
        }
    }
}
