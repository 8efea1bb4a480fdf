package dev.pulse.workers.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.pulse.workers.testing.TestDatabase;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.Test;

class RetriedReadsTest {

    @Test
    void aReadWhoseConnectionIsCutRunsAgainOnAFreshOneAndABadStatementDoesNot() {
        try (Database database = Database.connect(TestDatabase.create(), 2)) {
            Jdbi reads = database.reads();
            AtomicInteger attempts = new AtomicInteger();
            int answer =
                    reads.withHandle(
                            h -> {
                                if (attempts.incrementAndGet() == 1) {
                                    // The server ends this very connection: 57P01.
                                    h.createQuery("SELECT pg_terminate_backend(pg_backend_pid())")
                                            .mapTo(Boolean.class)
                                            .one();
                                }
                                return h.createQuery("SELECT 42").mapTo(Integer.class).one();
                            });
            assertThat(answer).isEqualTo(42);
            assertThat(attempts).hasValue(2);

            AtomicInteger bad = new AtomicInteger();
            assertThatThrownBy(
                            () ->
                                    reads.withHandle(
                                            h -> {
                                                bad.incrementAndGet();
                                                return h.createQuery("SELECT nope FROM nowhere")
                                                        .mapToMap()
                                                        .list();
                                            }))
                    .isNotNull();
            assertThat(bad).as("a refused statement is not retried").hasValue(1);

            AtomicInteger alwaysCut = new AtomicInteger();
            assertThatThrownBy(
                            () ->
                                    reads.withHandle(
                                            h -> {
                                                alwaysCut.incrementAndGet();
                                                return h.createQuery(
                                                                "SELECT pg_terminate_backend(pg_backend_pid())")
                                                        .mapTo(Boolean.class)
                                                        .one();
                                            }))
                    .satisfies(e -> assertThat(DatabaseErrors.isTransient(e)).isTrue());
            assertThat(alwaysCut).as("at most three attempts in all").hasValue(3);
        }
    }

    @Test
    void serializationFailuresAndDeadlocksAreTransientButOtherRefusalsAreNot() {
        assertThat(DatabaseErrors.isTransient(new SQLException("conflict with recovery", "40001")))
                .isTrue();
        assertThat(DatabaseErrors.isTransient(new SQLException("deadlock", "40P01"))).isTrue();
        assertThat(DatabaseErrors.isTransient(new SQLException("terminated", "57P01"))).isTrue();
        assertThat(DatabaseErrors.isTransient(new SQLException("lost", "08006"))).isTrue();
        assertThat(DatabaseErrors.isTransient(new SQLException("unique", "23505"))).isFalse();
    }

    @Test
    void everyConnectionHasASocketTimeoutKeepaliveAndItsNameAndNoPreparedStatementsBehindAPooler() {
        var plain = new ConnectionSettings("pulse-n1", Duration.ofMillis(1500), false);
        assertThat(plain.driverProperties())
                .containsEntry("ApplicationName", "pulse-n1")
                .containsEntry("socketTimeout", "2")
                .containsEntry("tcpKeepAlive", "true")
                .doesNotContainKey("prepareThreshold");
        assertThat(plain.withoutSocketTimeout().driverProperties())
                .containsEntry("socketTimeout", "0");
        var pooled = new ConnectionSettings("pulse-n1", Duration.ofSeconds(15), true);
        assertThat(pooled.driverProperties()).containsEntry("prepareThreshold", "0");
        assertThat(pooled.withoutPooler().driverProperties()).doesNotContainKey("prepareThreshold");
    }
}
