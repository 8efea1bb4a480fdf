package dev.pulse.workers.timing;

import dev.pulse.workers.db.ChannelListener;
import dev.pulse.workers.db.ConnectionSettings;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.maintenance.Duty;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wake-ups across nodes through PostgreSQL LISTEN/NOTIFY (docs/architecture.md, Traps avoided: a
 * hint only, polling stays the backstop).
 *
 * <p>{@link #queued} is called after a transaction that queued due tasks has committed; it sends
 * {@code NOTIFY pulse_tasks} at most once per debounce interval (a burst of enqueues costs one
 * notification, not one per request), from a pooled connection and off the caller's thread.
 *
 * <p>A {@link ChannelListener} signals {@code onNotify} for every notification, and once on every
 * (re)connection, since notifications sent while it was not listening were missed.
 *
 * <p>Behind a transaction-pooling PgBouncer, LISTEN does not work: run such nodes with {@code
 * PULSE_WAKEUPS=poll}, which uses neither this class nor NOTIFY.
 */
public final class DatabaseWakeUps implements Duty, ChannelListener.Events {

    private static final Logger log = LoggerFactory.getLogger(DatabaseWakeUps.class);

    public static final String CHANNEL = "pulse_tasks";
    static final String APPLICATION_NAME = "pulse-listen";

    private final Jdbi jdbi;
    private final WakeUp onNotify;
    private final long debounceNanos;
    private final ChannelListener listener;
    private final ScheduledExecutorService notifier;
    private final AtomicBoolean notifyPending = new AtomicBoolean();
    private final AtomicLong lastNotify = new AtomicLong(System.nanoTime() - Long.MAX_VALUE / 4);
    private final AtomicLong received = new AtomicLong();
    private volatile boolean running = true;

    /**
     * @param url where to LISTEN (a connection of its own, not from the pool)
     * @param jdbi the pool, for sending notifications
     * @param onNotify signalled for every notification received, and after every (re)connection
     * @param debounce the least time between two notifications this node sends
     */
    public DatabaseWakeUps(DatabaseUrl url, Jdbi jdbi, WakeUp onNotify, Duration debounce) {
        this(url, ConnectionSettings.defaults().named(APPLICATION_NAME), jdbi, onNotify, debounce);
    }

    /**
     * @param settings how the LISTEN connection behaves: its socket timeout is what notices a
     *     frozen server (a silent socket otherwise looks like a quiet channel), after which the
     *     connection is made again, on whichever host of a multi-host URL is then the primary
     */
    public DatabaseWakeUps(
            DatabaseUrl url,
            ConnectionSettings settings,
            Jdbi jdbi,
            WakeUp onNotify,
            Duration debounce) {
        this.jdbi = jdbi;
        this.onNotify = onNotify;
        this.debounceNanos = debounce.toNanos();
        this.listener = new ChannelListener(CHANNEL, "wake-ups", "polling", url, settings, this);
        this.notifier =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "pulse-notify");
                            t.setDaemon(true);
                            return t;
                        });
    }

    @Override
    public String name() {
        return "wake-ups";
    }

    /** Starts listening; without it, this node only sends notifications. */
    @Override
    public void start() {
        listener.start();
    }

    /** Connections made count as successes, connections lost (or refused) as failures. */
    @Override
    public Status status() {
        return listener.status();
    }

    /**
     * Tells the other nodes that tasks were queued; call after the transaction committed. Never
     * blocks.
     */
    public void queued() {
        if (!running || !notifyPending.compareAndSet(false, true)) {
            return; // one is already on its way and will cover this one too
        }
        long wait = lastNotify.get() + debounceNanos - System.nanoTime();
        try {
            notifier.schedule(this::sendNotify, Math.max(0, wait), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            notifyPending.set(false); // closing
        }
    }

    private void sendNotify() {
        // Cleared before sending: a task queued from now on needs a notification after this one.
        notifyPending.set(false);
        lastNotify.set(System.nanoTime());
        try {
            jdbi.useHandle(h -> h.execute("NOTIFY " + CHANNEL));
        } catch (RuntimeException e) {
            // Only a hint: the other nodes find the tasks on their next poll.
            log.debug("could not send a wake-up notification: {}", e.getMessage());
        }
    }

    @Override
    public void connected() {
        onNotify.signal();
    }

    @Override
    public void notified(int count) {
        received.addAndGet(count);
        onNotify.signal();
    }

    @Override
    public void lost() {
        // Only a hint: the worker's poll finds the tasks meanwhile.
    }

    /** How many times the LISTEN connection has been (re)established; for tests and diagnostics. */
    public long connections() {
        return listener.connections();
    }

    /** How many notifications arrived. */
    public long received() {
        return received.get();
    }

    @Override
    public void close() {
        running = false;
        notifier.shutdownNow();
        listener.close();
    }
}
