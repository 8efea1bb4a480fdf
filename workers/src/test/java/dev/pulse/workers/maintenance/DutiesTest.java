package dev.pulse.workers.maintenance;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * A periodic duty survives failing passes, reports them, and stops on close; duties close in
 * reverse order.
 */
class DutiesTest {

    private static final Duration PATIENCE = Duration.ofSeconds(30);

    /** Runs one pass per instruction taken from {@code plan}: true succeeds, false throws. */
    private static final class Scripted extends PeriodicDuty {
        final BlockingQueue<Boolean> plan = new LinkedBlockingQueue<>();
        final BlockingQueue<String> log;

        Scripted(String name, BlockingQueue<String> log) {
            super(name, Duration.ofMinutes(10), Duration.ZERO);
            this.log = log;
        }

        @Override
        protected void pass() throws InterruptedException {
            Boolean ok = plan.take();
            if (!ok) {
                throw new IllegalStateException("scripted failure");
            }
        }

        @Override
        protected Duration untilNextPass() {
            return Duration.ZERO;
        }

        @Override
        public void close() {
            super.close();
            log.add(name());
        }
    }

    @Test
    void aDutyCountsItsPassesByOutcomeOnTheRegistryAndKeepsGoingAfterAFailure() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        BlockingQueue<String> closed = new LinkedBlockingQueue<>();
        try (Duties duties = new Duties(registry)) {
            Scripted duty = duties.start(new Scripted("scripted", closed));
            duty.plan.add(true);
            duty.plan.add(false);
            awaitTrue(() -> duty.status().failed() == 1);
            assertThat(duty.status()).isEqualTo(new Duty.Status(1, 1, true));
            duty.plan.add(true);
            awaitTrue(() -> duty.status().succeeded() == 2);
            assertThat(duty.status().failing()).isFalse();
            assertThat(passes(registry, "succeeded")).isEqualTo(2.0);
            assertThat(passes(registry, "failed")).isEqualTo(1.0);
        }
    }

    @Test
    void closingStopsTheDutiesInReverseOrderOfStarting() throws Exception {
        BlockingQueue<String> closed = new LinkedBlockingQueue<>();
        Duties duties = new Duties(new SimpleMeterRegistry());
        Scripted first = duties.start(new Scripted("first", closed));
        Scripted second = duties.start(new Scripted("second", closed));
        assertThat(duties.all()).containsExactly(second, first);
        duties.close(); // both are waiting in pass(): closing interrupts them after the grace
        assertThat(closed.poll(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isEqualTo("second");
        assertThat(closed.poll(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isEqualTo("first");
    }

    private static double passes(SimpleMeterRegistry registry, String outcome) {
        FunctionCounter counter =
                registry.find("pulse.duty.passes")
                        .tag("duty", "scripted")
                        .tag("outcome", outcome)
                        .functionCounter();
        assertThat(counter).as("pulse.duty.passes{outcome=%s}", outcome).isNotNull();
        return counter.count();
    }

    private static void awaitTrue(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("condition within %s", PATIENCE).isLessThan(deadline);
            Thread.sleep(10);
        }
    }
}
