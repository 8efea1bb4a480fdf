package dev.pulse.workers.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.workers.callbacks.CallbackOutbox;
import dev.pulse.workers.callbacks.LocalDeliveries;
import dev.pulse.workers.db.Database;
import dev.pulse.workers.json.JsonMapper;
import dev.pulse.workers.metrics.QueueMetrics;
import dev.pulse.workers.queue.TaskClaimer;
import dev.pulse.workers.queue.TaskCompleter;
import dev.pulse.workers.tasks.NewTask;
import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskIds;
import dev.pulse.workers.tasks.TaskJson;
import dev.pulse.workers.tasks.TaskStore;
import dev.pulse.workers.timing.WakeUp;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The queue's real parts on a fresh, migrated test database: what a worker node uses, built the way
 * PulseNode builds it, minus the threads. A test class may hold one per test as
 * {@code @RegisterExtension final QueueKit kit = new QueueKit();}: it closes itself after each
 * test.
 */
public final class QueueKit implements AutoCloseable, AfterEachCallback {

    public final ObjectMapper json = JsonMapper.create();
    public final Database database;
    public final TaskIds ids;
    public final WakeUp dispatcherWakeUp = new WakeUp();
    public final CallbackOutbox outbox;
    public final TaskStore tasks;
    public final TaskCompleter completer;

    public QueueKit() {
        this(Clock.systemUTC());
    }

    public QueueKit(Clock clock) {
        database = Database.connect(TestDatabase.create(), 10);
        database.migrate();
        ids = new TaskIds(clock, new Random(42));
        outbox = outboxHandingOverTo(LocalDeliveries.none());
        tasks = new TaskStore(database.jdbi(), json, ids, outbox, QueueMetrics.discarded());
        completer = new TaskCompleter(database.jdbi(), json, outbox, new Random(7));
    }

    /**
     * An outbox that hands callbacks over to {@code local} as a worker node's does, up to its room.
     */
    public CallbackOutbox outboxHandingOverTo(LocalDeliveries local) {
        return new CallbackOutbox(json, new TaskJson(json), ids::next, dispatcherWakeUp, local);
    }

    /**
     * A completer whose callbacks are handed over to {@code local}, through {@link
     * #outboxHandingOverTo}.
     */
    public TaskCompleter completerHandingOverTo(LocalDeliveries local) {
        return new TaskCompleter(database.jdbi(), json, outboxHandingOverTo(local), new Random(7));
    }

    public TaskClaimer claimer(String node) {
        return new TaskClaimer(
                database.jdbi(), json, TaskClaimer.Settings.of(node, Duration.ofSeconds(30)));
    }

    public TaskClaimer claimer(String node, Map<String, Integer> agentLimits) {
        return new TaskClaimer(
                database.jdbi(),
                json,
                TaskClaimer.Settings.of(node, Duration.ofSeconds(30))
                        .withFixedConcurrency(agentLimits));
    }

    public Task insert(NewTask task) {
        return tasks.enqueue(task).task();
    }

    /** A due task for {@code agent} with the given priority, no callback, 3 attempts. */
    public NewTask newTask(String agent, int priority) {
        return NewTask.builder(
                        agent, json.createObjectNode().put("n", priority), json.createObjectNode())
                .priority(priority)
                .maxAttempts(3)
                .timeoutSeconds(60)
                .retry(1000, 600_000)
                .build();
    }

    public NewTask delayed(String agent, double seconds) {
        return NewTask.builder(agent, json.createObjectNode(), json.createObjectNode())
                .delaySeconds(BigDecimal.valueOf(seconds))
                .maxAttempts(3)
                .timeoutSeconds(60)
                .retry(1000, 600_000)
                .build();
    }

    public NewTask withCallback(String agent, String url, int maxAttempts) {
        return NewTask.builder(agent, json.createObjectNode(), json.createObjectNode())
                .callbackUrl(url)
                .maxAttempts(maxAttempts)
                .timeoutSeconds(60)
                .retry(1000, 600_000)
                .build();
    }

    public long count(String sql) {
        return database.jdbi().withHandle(h -> h.createQuery(sql).mapTo(Long.class).one());
    }

    /**
     * The rows {@code task_attempts} holds for {@code task} (the ended attempt in the task row not
     * among them).
     */
    public long attemptRows(UUID task) {
        return count("SELECT count(*) FROM task_attempts WHERE task_id = '" + task + "'");
    }

    /** Whether {@code callback_deliveries} still holds the delivery {@code id}: 1 or 0. */
    public long deliveryRows(UUID id) {
        return count("SELECT count(*) FROM callback_deliveries WHERE id = '" + id + "'");
    }

    public JsonNode jsonOf(String text) {
        try {
            return json.readTree(text);
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        close();
    }

    @Override
    public void close() {
        database.close();
    }
}
