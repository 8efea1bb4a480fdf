package dev.pulse.workers.callbacks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.db.Database;
import dev.pulse.workers.testing.TestDatabase;
import dev.pulse.workers.timing.WakeUp;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Redelivery, whoever asks for it (API or dashboard): the delivery is due again at once with a
 * fresh round of attempts, and this node's dispatcher is woken to send it.
 */
class CallbackDeliveriesTest {

    @Test
    void redeliveringADeadDeliveryMakesItDueAndWakesTheDispatcherOnlyWhenItExists()
            throws Exception {
        try (Database db = Database.connect(TestDatabase.create(), 2)) {
            db.migrate();
            UUID task = UUID.randomUUID();
            UUID delivery = UUID.randomUUID();
            db.jdbi()
                    .useHandle(
                            h -> {
                                h.execute(
                                        "INSERT INTO tasks (id, agent, state, input, max_attempts, timeout_seconds, run_at, finished_at)"
                                                + " VALUES (?, 'echo', 'succeeded', '{}', 1, 60, now(), now())",
                                        task);
                                h.execute(
                                        "INSERT INTO callback_deliveries (id, task_id, event_type, url, body, state, attempts, next_attempt_at)"
                                                + " VALUES (?, ?, 'task.succeeded', 'http://127.0.0.1:9/hook', '{}', 'dead', 8, now() + interval '1 day')",
                                        delivery,
                                        task);
                            });
            WakeUp dispatcher = new WakeUp();
            CallbackDeliveries deliveries = new CallbackDeliveries(db.jdbi(), dispatcher);

            assertThat(deliveries.redeliver(UUID.randomUUID())).isEmpty();
            assertThat(dispatcher.await(Duration.ZERO))
                    .as("woken for a delivery that does not exist")
                    .isFalse();

            CallbackDeliveries.Delivery due = deliveries.redeliver(delivery).orElseThrow();
            assertThat(due.id()).isEqualTo(delivery);
            assertThat(due.taskId()).isEqualTo(task);
            assertThat(due.state()).isEqualTo("pending");
            assertThat(due.attempts()).isZero();
            assertThat(due.nextAttemptAt()).isBefore(Instant.now().plusSeconds(5));
            assertThat(dispatcher.await(Duration.ZERO)).as("the dispatcher is woken").isTrue();
        }
    }
}
