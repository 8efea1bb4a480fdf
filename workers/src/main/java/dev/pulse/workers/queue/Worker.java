package dev.pulse.workers.queue;

import dev.pulse.workers.timing.Batches;
import dev.pulse.workers.timing.WakeUp;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The claim loop of one node: it claims no more tasks than it has free slots (and room in the
 * completer), runs each on a slot, and polls again when a slot frees up, when woken, or after the
 * poll interval. A slot is free again as soon as its attempt's outcome is queued for recording.
 */
public final class Worker implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(Worker.class);

    public record Settings(int concurrency, Duration pollInterval, Duration shutdownGrace) {
    }

    private final TaskClaimer claimer;
    private final TaskRunner runner;
    private final BatchCompleter completions;
    private final RunningAttempts running;
    private final WakeUp wakeUp;
    private final Settings settings;
    private final Semaphore slots;
    private final ExecutorService pool;
    private final Thread loop;
    private volatile boolean claiming = true;

    private volatile boolean failing;

    /** {@code completions} is the completer {@code runner} records through; the worker starts and closes it. */
    public Worker(TaskClaimer claimer, TaskRunner runner, BatchCompleter completions, RunningAttempts running,
                  WakeUp wakeUp, Settings settings) {
        this.claimer = claimer;
        this.runner = runner;
        this.completions = completions;
        this.running = running;
        this.wakeUp = wakeUp;
        this.settings = settings;
        this.slots = new Semaphore(settings.concurrency());
        this.pool = Executors.newFixedThreadPool(settings.concurrency(), r -> new Thread(r, "pulse-worker-slot"));
        this.loop = new Thread(this::run, "pulse-worker-claim");
    }

    public void start() {
        completions.start();
        loop.start();
    }

    /** Under a backlog, how long the loop may wait for more free slots so that one claim moves more rows. */
    static final Duration GATHER_SLOTS_FOR_AT_MOST = Duration.ofMillis(5);

    private int free() {
        // Never claim more than there are slots to run and room to record the outcomes.
        return Math.min(slots.availablePermits(), completions.room());
    }

    private void run() {
        boolean backlog = false;
        int batch = Math.max(1, settings.concurrency() / 2);
        while (claiming) {
            try {
                // After a full claim, rather than one claim per freed slot, let a few more slots
                // free up (briefly) and claim them together.
                int free = backlog ? Batches.awaitFree(this::free, batch, GATHER_SLOTS_FOR_AT_MOST, wakeUp) : free();
                List<ClaimedTask> claimed = free == 0 ? List.of() : claimer.claim(free);
                backlog = free == 0 ? backlog : claimed.size() == free;
                if (failing) {
                    log.info("worker reaches the database again");
                    failing = false;
                }
                for (ClaimedTask task : claimed) {
                    slots.acquire();
                    RunningAttempt attempt = running.add(task);
                    pool.execute(() -> {
                        try {
                            runner.run(attempt);
                        } finally {
                            running.remove(task);
                            slots.release();
                            wakeUp.signal();
                        }
                    });
                }
                if (free == 0 || claimed.size() < free) {
                    wakeUp.await(settings.pollInterval());
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                if (!failing) {
                    log.warn("worker cannot claim tasks, retrying every {}: {}", settings.pollInterval(), e.getMessage());
                    failing = true;
                }
                try {
                    Thread.sleep(settings.pollInterval().toMillis());
                } catch (InterruptedException interrupted) {
                    return;
                }
            }
        }
    }

    /**
     * Stops claiming, lets running attempts finish within the grace period, then releases the
     * rest; finally records every completion still queued in the completer.
     */
    @Override
    public void close() throws InterruptedException {
        claiming = false;
        loop.interrupt();
        loop.join(5_000);
        pool.shutdown();
        if (running.size() > 0) {
            log.info("waiting up to {} for {} running attempt(s) to finish", settings.shutdownGrace(), running.size());
        }
        if (!pool.awaitTermination(settings.shutdownGrace().toMillis(), TimeUnit.MILLISECONDS)) {
            log.info("releasing {} attempt(s) still running after the grace period to other nodes", running.size());
            running.stopAll(StopReason.SHUTDOWN);
            if (!pool.awaitTermination(30, TimeUnit.SECONDS)) {
                pool.shutdownNow();
            }
        }
        if (completions.pending() > 0) {
            log.info("recording {} finished attempt(s) before stopping", completions.pending());
        }
        completions.close();
    }
}
