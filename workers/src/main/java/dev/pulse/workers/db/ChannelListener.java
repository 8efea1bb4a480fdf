package dev.pulse.workers.db;

import dev.pulse.workers.maintenance.Duty;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection of its own, outside the pool, that LISTENs on a channel. When it is lost (database
 * restart, {@code pg_terminate_backend}, a network cut, a frozen server noticed by the socket
 * timeout) it is made again with backoff, on whichever host of a multi-host URL is then the
 * primary. It is checked with a query whenever it has been quiet for a while, so a dead socket is
 * noticed even when no notification comes.
 *
 * <p>Notifications sent while it is not listening are lost: its {@link Events} hear when that
 * begins and ends, so that what relies on them can fall back (poll, stop caching) meanwhile.
 */
public final class ChannelListener implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(ChannelListener.class);
    private static final Duration CHECK_WHEN_QUIET_FOR = Duration.ofSeconds(10);

    /** What the listener tells its owner; called on the listener's thread. */
    public interface Events {
        /** Listening (again): whatever was notified before this was missed. */
        void connected();

        /** {@code count} notifications arrived. */
        void notified(int count);

        /** Not listening any more, until the next {@link #connected}. */
        void lost();
    }

    private final String channel;
    private final String purpose;
    private final String meanwhile;
    private final DatabaseUrl url;
    private final ConnectionSettings settings;
    private final Events events;
    private final Thread thread;
    private final AtomicLong connections = new AtomicLong();
    private final AtomicLong lost = new AtomicLong();
    private volatile boolean failing;
    private volatile boolean running = true;
    private volatile Connection current;

    /**
     * @param purpose what the notifications are for, as the logs name it ("wake-ups")
     * @param meanwhile what the owner does while not listening, as the logs say it
     */
    public ChannelListener(
            String channel,
            String purpose,
            String meanwhile,
            DatabaseUrl url,
            ConnectionSettings settings,
            Events events) {
        this.channel = channel;
        this.purpose = purpose;
        this.meanwhile = meanwhile;
        this.url = url;
        this.settings = settings.withoutPooler();
        this.events = events;
        this.thread = new Thread(this::listen, "pulse-listen-" + channel);
        this.thread.setDaemon(true);
    }

    public void start() {
        thread.start();
    }

    /** Connections made count as successes, connections lost (or refused) as failures. */
    public Duty.Status status() {
        return new Duty.Status(connections.get(), lost.get(), failing);
    }

    /** How many times the connection has been (re)established; for tests and diagnostics. */
    public long connections() {
        return connections.get();
    }

    private void listen() {
        long pause = 100;
        while (running) {
            try (Connection c = settings.open(url)) {
                current = c;
                try (Statement s = c.createStatement()) {
                    s.execute("LISTEN " + channel);
                }
                connections.incrementAndGet();
                if (failing) {
                    log.info("listening for {} again", purpose);
                }
                failing = false;
                pause = 100;
                events.connected();
                hear(c);
            } catch (SQLException | RuntimeException e) {
                events.lost();
                if (!running) {
                    return;
                }
                lost.incrementAndGet();
                if (!failing) {
                    log.warn(
                            "lost the connection listening for {} ({}); {} meanwhile, reconnecting",
                            purpose,
                            e.getMessage(),
                            meanwhile);
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
        events.lost();
    }

    private void hear(Connection c) throws SQLException {
        PGConnection pg = c.unwrap(PGConnection.class);
        long quietSince = System.nanoTime();
        while (running) {
            PGNotification[] got = pg.getNotifications(1_000);
            if (got != null && got.length > 0) {
                events.notified(got.length);
                quietSince = System.nanoTime();
            } else if (System.nanoTime() - quietSince > CHECK_WHEN_QUIET_FOR.toNanos()) {
                try (Statement s = c.createStatement()) {
                    s.setQueryTimeout(5);
                    s.execute("SELECT 1");
                }
                quietSince = System.nanoTime();
            }
        }
    }

    @Override
    public void close() {
        running = false;
        Connection c = current;
        if (c != null) {
            try {
                c.close();
            } catch (SQLException e) {
                // closing anyway
            }
        }
        thread.interrupt();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
