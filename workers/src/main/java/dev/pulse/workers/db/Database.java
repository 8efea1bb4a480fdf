package dev.pulse.workers.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.metrics.micrometer.MicrometerMetricsTrackerFactory;
import com.zaxxer.hikari.util.DriverDataSource;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;

/** The connection pool to Pulse's PostgreSQL and the schema migrations that go with it. */
public final class Database implements AutoCloseable {

    private static final String MIGRATIONS = "classpath:db/migration/pulse";

    private final HikariDataSource dataSource;
    private final Pool pool;
    private final Jdbi jdbi;
    private final Jdbi reads;
    private volatile boolean migrated;

    private Database(HikariDataSource dataSource, Pool pool) {
        this.dataSource = dataSource;
        this.pool = pool;
        this.jdbi = MovedRows.over(dataSource);
        this.reads = RetriedReads.over(dataSource);
    }

    public static Database connect(DatabaseUrl url, int poolSize) {
        return connect(url, poolSize, null);
    }

    /**
     * @param metrics where the pool reports its metrics, or null
     */
    public static Database connect(DatabaseUrl url, int poolSize, MeterRegistry metrics) {
        return connect(new Pool("pulse", url, poolSize, ConnectionSettings.defaults()), metrics);
    }

    /**
     * A pool: its name (in metrics and thread names), where it connects, how many connections it
     * may hold and how they behave.
     *
     * @param migrateThrough where migrations connect, when not through the pool's URL (behind a
     *     transaction-pooling PgBouncer: a direct connection); null for the pool's URL
     * @param readOnly a read replica's pool: its connections are read-only, and it is never
     *     migrated
     */
    public record Pool(
            String name,
            DatabaseUrl url,
            int size,
            ConnectionSettings settings,
            DatabaseUrl migrateThrough,
            boolean readOnly) {

        public Pool(String name, DatabaseUrl url, int size, ConnectionSettings settings) {
            this(name, url, size, settings, null, false);
        }

        /** The pool of a read replica. */
        public static Pool replica(
                String name, DatabaseUrl url, int size, ConnectionSettings settings) {
            return new Pool(name, url, size, settings, null, true);
        }
    }

    /**
     * @param metrics where the pool reports its metrics, or null
     */
    public static Database connect(Pool pool, MeterRegistry metrics) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(pool.url().jdbcUrl());
        if (pool.url().user() != null) {
            config.setUsername(pool.url().user());
        }
        if (pool.url().password() != null) {
            config.setPassword(pool.url().password());
        }
        config.setDataSourceProperties(pool.settings().driverProperties());
        config.setMaximumPoolSize(pool.size());
        config.setPoolName(pool.name());
        config.setReadOnly(pool.readOnly());
        // A caller waits at most this for a connection, then fails (the API answers 503), rather
        // than queueing behind a database that does not answer.
        config.setConnectionTimeout(5_000);
        // A connection idle for a while is checked before it is handed out, at most this long: a
        // frozen server's connections are found out and replaced, not handed to a caller.
        config.setValidationTimeout(2_000);
        // Idle connections are tried every 30 s, so dead ones leave the pool even when unused.
        config.setKeepaliveTime(30_000);
        // Start even when the database is down; calls fail until it is back, and /health/ready says
        // so.
        config.setInitializationFailTimeout(-1);
        if (metrics != null) {
            config.setMetricsTrackerFactory(new MicrometerMetricsTrackerFactory(metrics));
        }
        return new Database(new HikariDataSource(config), pool);
    }

    /** Applies pending migrations; returns how many ran. */
    public int migrate() {
        if (pool.readOnly()) {
            throw new IllegalStateException("a replica's pool is never migrated");
        }
        int executed =
                Flyway.configure()
                        .dataSource(migrationDataSource())
                        .locations(MIGRATIONS)
                        .placeholderReplacement(
                                false) // SQL is taken literally: no ${...} expansion
                        .load()
                        .migrate()
                        .migrationsExecuted;
        migrated = true;
        return executed;
    }

    /**
     * Migrations connect on their own, without the socket timeout (an index built on a big table
     * may take longer than any statement of the running node should), and directly to PostgreSQL
     * when a pooler sits in front of it.
     */
    private DataSource migrationDataSource() {
        DatabaseUrl url = pool.migrateThrough() != null ? pool.migrateThrough() : pool.url();
        Properties props = pool.settings().withoutSocketTimeout().driverProperties();
        return new DriverDataSource(url.jdbcUrl(), null, props, url.user(), url.password());
    }

    /** Whether the schema is fully migrated and the database answers right now. */
    public boolean isReady() {
        if (!migrated) {
            return false;
        }
        try (Connection c = dataSource.getConnection();
                Statement s = c.createStatement()) {
            s.setQueryTimeout(2);
            s.execute("SELECT 1");
        } catch (SQLException e) {
            return false;
        }
        return true;
    }

    public Jdbi jdbi() {
        return jdbi;
    }

    /**
     * A Jdbi on the same pool for statements that change nothing, retried on a fresh connection
     * after a transient failure ({@link RetriedReads}).
     */
    public Jdbi reads() {
        return reads;
    }

    public DataSource dataSource() {
        return dataSource;
    }

    @Override
    public void close() {
        dataSource.close();
    }
}
