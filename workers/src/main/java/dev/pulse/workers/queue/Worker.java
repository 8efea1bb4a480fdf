package dev.pulse.workers.queue;

import dev.pulse.workers.maintenance.Duty;
import dev.pulse.workers.timing.ClaimLoop;
import dev.pulse.workers.timing.WakeUp;
import java.time.Duration;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The task worker of one node: a {@link ClaimLoop} that claims tasks for its free slots (and room
 * in the completer) and runs each on a slot. A slot is free again as soon as its attempt's outcome
 * is queued for recording.
 */
public final class Worker implements Duty.Stoppable {

    private static final Logger log = LoggerFactory.getLogger(Worker.class);

    public record Settings(int concurrency, Duration pollInterval, Duration shutdownGrace) {}

    /** After the grace period, how long attempts asked to hand their task back have to do it. */
    private static final Duration HAND_BACK_FOR_AT_MOST = Duration.ofSeconds(30);

    private final BatchCompleter completions;
    private final RunningAttempts running;
    private final Settings settings;
    private final ClaimLoop<RunningAttempt> loop;

    /**
     * {@code completions} is the completer {@code runner} records through; the worker starts and
     * closes it.
     */
    public Worker(
            TaskClaimer claimer,
            TaskRunner runner,
            BatchCompleter completions,
            RunningAttempts running,
            WakeUp wakeUp,
            Settings settings) {
        this.completions = completions;
        this.running = running;
        this.settings = settings;
        this.loop =
                new ClaimLoop<>(
                        (limit, slots) -> {
                            List<ClaimedTask> claimed = claimer.claim(limit);
                            for (ClaimedTask task : claimed) {
                                slots.run(running.add(task));
                            }
                            return claimed.size();
                        },
                        attempt -> {
                            try {
                                runner.run(attempt);
                            } finally {
                                running.remove(attempt.claimed());
                            }
                        },
                        completions::room,
                        wakeUp,
                        new ClaimLoop.Settings(
                                "worker",
                                "tasks",
                                settings.concurrency(),
                                settings.pollInterval(),
                                "pulse-worker-claim",
                                "pulse-worker-slot"));
    }

    @Override
    public String name() {
        return "worker";
    }

    /** Its claims: made, and failed because the database was away. */
    @Override
    public Duty.Status status() {
        return loop.status();
    }

    @Override
    public void start() {
        completions.start();
        loop.start();
    }

    /**
     * Stops claiming, lets running attempts finish within the grace period, then releases the rest;
     * finally records every completion still queued in the completer.
     */
    @Override
    public void stop() throws InterruptedException {
        if (running.size() > 0) {
            log.info(
                    "waiting up to {} for {} running attempt(s) to finish",
                    settings.shutdownGrace(),
                    running.size());
        }
        loop.close(
                settings.shutdownGrace(),
                () -> {
                    log.info(
                            "releasing {} attempt(s) still running after the grace period to other nodes",
                            running.size());
                    running.stopAll(StopReason.SHUTDOWN);
                },
                HAND_BACK_FOR_AT_MOST);
        if (completions.pending() > 0) {
            log.info("recording {} finished attempt(s) before stopping", completions.pending());
        }
        completions.close();
    }
}
