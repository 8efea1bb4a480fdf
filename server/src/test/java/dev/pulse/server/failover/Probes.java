package dev.pulse.server.failover;

import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.jdbi.v3.core.Jdbi;

/** What the tests of real PostgreSQL servers ask of them, and how long they wait for it. */
final class Probes {

    static final Duration PATIENCE = Duration.ofMinutes(3);

    private Probes() {}

    /** The names of every connected client but this query's own. */
    static List<String> applicationNames(Jdbi jdbi) {
        return jdbi.withHandle(
                h ->
                        h.createQuery(
                                        "SELECT DISTINCT application_name FROM pg_stat_activity"
                                                + " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
                                                + " AND state IS NOT NULL")
                                .mapTo(String.class)
                                .list());
    }

    static long count(Jdbi jdbi, String sql) {
        return jdbi.withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
    }

    static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + PATIENCE + ": " + what);
            }
            Thread.sleep(100);
        }
    }
}
