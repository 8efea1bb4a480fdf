package dev.pulse.workers.db;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Properties;

/**
 * How every connection of a node to PostgreSQL behaves, whatever opened it (the pool, the LISTEN
 * connection, the replica pool): its {@code application_name}, how long a read may wait on a silent
 * server, and whether a transaction-pooling PgBouncer sits in between.
 *
 * <p>A frozen or unplugged primary sends no reset: without a socket timeout and TCP keepalive a
 * connection waits on it forever, and a pool whose connections all wait that way stops the node
 * (issue 23's first probe). So every read gives up after {@code socketTimeout} (the connection is
 * then closed and the pool replaces it), a connection attempt after {@link #CONNECT_TIMEOUT}, and a
 * multi-host URL re-checks which host is primary every {@link #HOST_RECHECK}. Values in the URL
 * itself win over these: they are given to the driver as defaults.
 *
 * @param applicationName shown in {@code pg_stat_activity}, {@code pulse-<node>}
 * @param socketTimeout the longest a statement may wait for the server; zero for none
 * @param transactionPooling a PgBouncer in transaction pooling sits between: no server-side
 *     prepared statements (they would not survive the transaction that made them)
 */
public record ConnectionSettings(
        String applicationName, Duration socketTimeout, boolean transactionPooling) {

    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    static final Duration HOST_RECHECK = Duration.ofSeconds(2);

    /** For tools and tests: named {@code pulse}, a 5-minute socket timeout, no pooler. */
    public static ConnectionSettings defaults() {
        return new ConnectionSettings("pulse", Duration.ofMinutes(5), false);
    }

    /** The same with another application name (the LISTEN connection is {@code <name>-listen}). */
    public ConnectionSettings named(String name) {
        return new ConnectionSettings(name, socketTimeout, transactionPooling);
    }

    /** The same for a direct connection, past any pooler. */
    public ConnectionSettings withoutPooler() {
        return new ConnectionSettings(applicationName, socketTimeout, false);
    }

    /** The same without a socket timeout: migrations may run long statements. */
    public ConnectionSettings withoutSocketTimeout() {
        return new ConnectionSettings(applicationName, Duration.ZERO, transactionPooling);
    }

    /**
     * A connection of its own to {@code url} with these settings, outside any pool (for LISTEN: the
     * pooled ones are handed back after each transaction).
     */
    public Connection open(DatabaseUrl url) throws SQLException {
        Properties props = driverProperties();
        if (url.user() != null) {
            props.setProperty("user", url.user());
        }
        if (url.password() != null) {
            props.setProperty("password", url.password());
        }
        return DriverManager.getConnection(url.jdbcUrl(), props);
    }

    /** The pgjdbc properties that carry these settings. */
    public Properties driverProperties() {
        Properties p = new Properties();
        p.setProperty("ApplicationName", applicationName);
        p.setProperty("tcpKeepAlive", "true");
        p.setProperty("connectTimeout", Long.toString(CONNECT_TIMEOUT.toSeconds()));
        // The whole login (TCP connect, then startup, which a frozen server never answers).
        p.setProperty("loginTimeout", Long.toString(2 * CONNECT_TIMEOUT.toSeconds()));
        p.setProperty("socketTimeout", Long.toString(ceilSeconds(socketTimeout)));
        p.setProperty("hostRecheckSeconds", Long.toString(HOST_RECHECK.toSeconds()));
        if (transactionPooling) {
            p.setProperty("prepareThreshold", "0");
        }
        return p;
    }

    private static long ceilSeconds(Duration d) {
        return d.isZero() ? 0 : Math.max(1, (d.toMillis() + 999) / 1000);
    }
}
