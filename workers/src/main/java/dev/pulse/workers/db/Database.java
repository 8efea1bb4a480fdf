package dev.pulse.workers.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.metrics.micrometer.MicrometerMetricsTrackerFactory;
import io.micrometer.core.instrument.MeterRegistry;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.jdbi.v3.core.Jdbi;

/** The connection pool to Pulse's PostgreSQL and the schema migrations that go with it. */
public final class Database implements AutoCloseable {

    private static final String MIGRATIONS = "classpath:db/migration/pulse";

    private final HikariDataSource dataSource;
    private final Jdbi jdbi;
    private volatile boolean migrated;

    private Database(HikariDataSource dataSource) {
        this.dataSource = dataSource;
        this.jdbi = Jdbi.create(dataSource);
    }

    public static Database connect(DatabaseUrl url, int poolSize) {
        return connect(url, poolSize, null);
    }

    /**
     * @param metrics where the pool reports its metrics, or null
     */
    public static Database connect(DatabaseUrl url, int poolSize, MeterRegistry metrics) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url.jdbcUrl());
        if (url.user() != null) {
            config.setUsername(url.user());
        }
        if (url.password() != null) {
            config.setPassword(url.password());
        }
        config.setMaximumPoolSize(poolSize);
        config.setPoolName("pulse");
        config.setConnectionTimeout(5_000);
        // Start even when the database is down; calls fail until it is back, and /health/ready says
        // so.
        config.setInitializationFailTimeout(-1);
        if (metrics != null) {
            config.setMetricsTrackerFactory(new MicrometerMetricsTrackerFactory(metrics));
        }
        return new Database(new HikariDataSource(config));
    }

    /** Applies pending migrations; returns how many ran. */
    public int migrate() {
        int executed =
                Flyway.configure()
                        .dataSource(dataSource)
                        .locations(MIGRATIONS)
                        .placeholderReplacement(
                                false) // SQL is taken literally: no ${...} expansion
                        .load()
                        .migrate()
                        .migrationsExecuted;
        migrated = true;
        return executed;
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

    public DataSource dataSource() {
        return dataSource;
    }

    @Override
    public void close() {
        dataSource.close();
    }
}
