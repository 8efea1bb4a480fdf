package dev.pulse.workers.maintenance;

import dev.pulse.workers.timing.WakeUp;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The common shape of a duty: one daemon thread that runs {@link #pass()} every interval (or sooner
 * when {@link #wakeUp()} is called), survives a failing pass (it is retried on the next one) and
 * stops on {@link #close()}, letting a pass in progress finish. Closing does not interrupt a pass
 * unless it overruns the grace, so a JDBC call is not cut off mid-statement.
 */
public abstract class PeriodicDuty implements Duty {

    private static final Logger log = LoggerFactory.getLogger(PeriodicDuty.class);
    private static final Duration CLOSE_GRACE = Duration.ofSeconds(5);

    private final String name;
    private final Duration interval;
    private final Duration firstPassAfter;
    private final WakeUp wakeUp = new WakeUp();
    private final Thread thread;
    private final AtomicLong succeeded = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private volatile boolean failing;
    private volatile boolean running = true;

    /**
     * @param name the duty's name; its thread is called {@code pulse-<name>}
     * @param interval the pause between passes
     * @param firstPassAfter the pause before the first pass
     */
    protected PeriodicDuty(String name, Duration interval, Duration firstPassAfter) {
        this.name = name;
        this.interval = interval;
        this.firstPassAfter = firstPassAfter;
        this.thread = new Thread(this::loop, "pulse-" + name);
        this.thread.setDaemon(true);
    }

    /** One pass of the duty; an exception fails this pass only. */
    protected abstract void pass() throws InterruptedException;

    /**
     * How long to wait after a pass; the interval unless the duty knows better (say, the next cron
     * tick).
     */
    protected Duration untilNextPass() {
        return interval;
    }

    /** Called when a pass threw; logs it quietly unless the duty says more. */
    protected void failed(RuntimeException e) {
        log.debug("{} pass failed; retrying in {}", name, interval, e);
    }

    /** Runs the next pass now rather than at the end of the current wait. */
    protected final void wakeUp() {
        wakeUp.signal();
    }

    /** False once {@link #close()} began: a long pass checks it between batches. */
    protected final boolean running() {
        return running;
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public void start() {
        thread.start();
    }

    private void loop() {
        Duration wait = firstPassAfter;
        while (running) {
            try {
                wakeUp.await(wait);
                if (!running) {
                    return;
                }
                pass();
                succeeded.incrementAndGet();
                failing = false;
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                failed.incrementAndGet();
                failing = true;
                failed(e);
            }
            wait = untilNextPass();
        }
    }

    @Override
    public Status status() {
        return new Status(succeeded.get(), failed.get(), failing);
    }

    @Override
    public void close() {
        running = false;
        wakeUp.signal();
        if (!thread.isAlive()) {
            return;
        }
        try {
            thread.join(CLOSE_GRACE.toMillis());
            if (thread.isAlive()) {
                thread.interrupt();
                thread.join(CLOSE_GRACE.toMillis());
            }
        } catch (InterruptedException e) {
            thread.interrupt();
            Thread.currentThread().interrupt();
        }
    }
}
