package dev.pulse.workers.timing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.db.Database;
import dev.pulse.workers.db.DatabaseUrl;
import dev.pulse.workers.testing.TestDatabase;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * LISTEN/NOTIFY wake-ups between two "nodes" sharing one PostgreSQL, including losing the LISTEN
 * connection.
 */
class DatabaseWakeUpsTest {

    private static final Duration LONG_ENOUGH = Duration.ofMinutes(2);

    private Database database;
    private DatabaseUrl url;
    private WakeUp listenerWorker;
    private DatabaseWakeUps listening;
    private DatabaseWakeUps sending;

    @BeforeEach
    void setUp() {
        url = TestDatabase.create();
        database = Database.connect(url, 4);
        listenerWorker = new WakeUp();
        listening =
                new DatabaseWakeUps(url, database.jdbi(), listenerWorker, Duration.ofMillis(10));
        listening.start();
        sending = new DatabaseWakeUps(url, database.jdbi(), new WakeUp(), Duration.ofMillis(10));
    }

    @AfterEach
    void tearDown() throws Exception {
        sending.close();
        listening.close();
        database.close();
    }

    @Test
    void aTaskQueuedOnOneNodeWakesTheWorkerOfAnother() throws Exception {
        awaitConnections(1);
        listenerWorker.await(Duration.ZERO); // the wake-up every (re)connection gives
        sending.queued();
        assertThat(listenerWorker.await(LONG_ENOUGH)).isTrue();
        assertThat(listening.received()).isGreaterThanOrEqualTo(1);
    }

    @Test
    void aBurstOfQueuedTasksSendsFewNotifications() throws Exception {
        awaitConnections(1);
        // A debounce longer than any burst can take, however slow the machine: with the 10 ms one,
        // a burst that took seconds would rightly send hundreds.
        sending.close();
        sending = new DatabaseWakeUps(url, database.jdbi(), new WakeUp(), Duration.ofMinutes(10));
        for (int i = 0; i < 10_000; i++) {
            sending.queued();
        }
        long deadline = System.nanoTime() + LONG_ENOUGH.toNanos();
        while (listening.received() == 0 && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        Thread.sleep(200);
        // Debounced: a burst costs a notification or two, not ten thousand (no timing asserted,
        // only the count).
        assertThat(listening.received()).isBetween(1L, 100L);
    }

    @Test
    void theListenConnectionIsReestablishedAfterTheDatabaseKillsIt() throws Exception {
        awaitConnections(1);
        int killed =
                database.jdbi()
                        .withHandle(
                                h ->
                                        h.createQuery(
                                                        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                                                + " WHERE application_name = :name AND datname = current_database() AND pid <> pg_backend_pid()) k")
                                                .bind("name", DatabaseWakeUps.APPLICATION_NAME)
                                                .mapTo(Integer.class)
                                                .one());
        assertThat(killed).isEqualTo(1);

        awaitConnections(2);
        assertThat(listenerWorker.await(LONG_ENOUGH))
                .as("woken on reconnecting, for what it missed")
                .isTrue();
        sending.queued();
        assertThat(listenerWorker.await(LONG_ENOUGH))
                .as("notifications arrive on the new connection")
                .isTrue();
    }

    private void awaitConnections(long n) throws InterruptedException {
        long deadline = System.nanoTime() + LONG_ENOUGH.toNanos();
        while (listening.connections() < n && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(listening.connections()).isEqualTo(n);
        // LISTEN has been executed once connections() counts it; nothing else to wait for.
    }
}
