package dev.pulse.workers.timing;

import dev.pulse.workers.db.ConnectionSettings;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.maintenance.Duty;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jdbi.v3.core.Jdbi;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
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
 * <p>One dedicated connection, outside the pool, LISTENs and signals {@code onNotify} for every
 * notification. If that connection is lost (database restart, {@code pg_terminate_backend}, a
 * network cut) it is re-established with backoff, and the worker is woken once on reconnecting,
 * since notifications sent meanwhile were missed. It is checked with a query whenever it has been
 * quiet for a while, so a dead socket is noticed even when no notification comes.
 *
 * <p>Behind a transaction-pooling PgBouncer, LISTEN does not work: run such nodes with {@code
 * PULSE_WAKEUPS=poll}, which uses neither this class nor NOTIFY.
 */
public final class DatabaseWakeUps implements Duty {

    private static final Logger log = LoggerFactory.getLogger(DatabaseWakeUps.class);

    public static final String CHANNEL = "pulse_tasks";
    static final String APPLICATION_NAME = "pulse-listen";
    private static final Duration CHECK_WHEN_QUIET_FOR = Duration.ofSeconds(10);

    private final DatabaseUrl url;
    private final ConnectionSettings settings;
    private final Jdbi jdbi;
    private final WakeUp onNotify;
    private final long debounceNanos;
    private final Thread listener;
    private final ScheduledExecutorService notifier;
    private final AtomicBoolean notifyPending = new AtomicBoolean();
    private final AtomicLong lastNotify = new AtomicLong(System.nanoTime() - Long.MAX_VALUE / 4);
    private final AtomicLong connections = new AtomicLong();
    private final AtomicLong received = new AtomicLong();
    private final AtomicLong lost = new AtomicLong();
    private volatile boolean failing;
    private volatile boolean running = true;
    private volatile Connection current;

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
        this.url = url;
        this.settings = settings.withoutPooler();
        this.jdbi = jdbi;
        this.onNotify = onNotify;
        this.debounceNanos = debounce.toNanos();
        this.listener = new Thread(this::listen, "pulse-listen");
        this.listener.setDaemon(true);
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
        return new Status(connections.get(), lost.get(), failing);
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

    private void listen() {
        long pause = 100;
        while (running) {
            try (Connection c = connect()) {
                current = c;
                try (Statement s = c.createStatement()) {
                    s.execute("LISTEN " + CHANNEL);
                }
                connections.incrementAndGet();
                if (failing) {
                    log.info("listening for wake-ups again");
                }
                failing = false;
                pause = 100;
                onNotify.signal(); // whatever was notified while we were not listening
                PGConnection pg = c.unwrap(PGConnection.class);
                long quietSince = System.nanoTime();
                while (running) {
                    PGNotification[] got = pg.getNotifications(1_000);
                    if (got != null && got.length > 0) {
                        received.addAndGet(got.length);
                        onNotify.signal();
                        quietSince = System.nanoTime();
                    } else if (System.nanoTime() - quietSince > CHECK_WHEN_QUIET_FOR.toNanos()) {
                        try (Statement s = c.createStatement()) {
                            s.setQueryTimeout(5);
                            s.execute("SELECT 1");
                        }
                        quietSince = System.nanoTime();
                    }
                }
            } catch (SQLException | RuntimeException e) {
                if (!running) {
                    return;
                }
                lost.incrementAndGet();
                if (!failing) {
                    log.warn(
                            "lost the wake-up connection ({}); polling meanwhile, reconnecting",
                            e.getMessage());
                    failing = true;
                }
                try {
                    Thread.sleep(pause);
                } catch (InterruptedException interrupted) {
                    return;
                }
                pause = Math.min(pause * 2, 5_000);
            } finally {
                current = null;
            }
        }
    }

    private Connection connect() throws SQLException {
        return settings.open(url);
    }

    /** How many times the LISTEN connection has been (re)established; for tests and diagnostics. */
    public long connections() {
        return connections.get();
    }

    /** How many notifications arrived. */
    public long received() {
        return received.get();
    }

    @Override
    public void close() {
        running = false;
        notifier.shutdownNow();
        Connection c = current;
        if (c != null) {
            try {
                c.close();
            } catch (SQLException e) {
                // closing anyway
            }
        }
        listener.interrupt();
        try {
            listener.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
