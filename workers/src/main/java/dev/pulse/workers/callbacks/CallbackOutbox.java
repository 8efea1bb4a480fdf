package dev.pulse.workers.callbacks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.executors.TraceContext;
import dev.pulse.workers.db.JsonTexts;
import dev.pulse.workers.json.JsonMapper;
import dev.pulse.workers.json.Timestamps;
import dev.pulse.workers.tasks.Task;
import dev.pulse.workers.tasks.TaskJson;
import dev.pulse.workers.timing.WakeUp;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.function.Supplier;
import org.jdbi.v3.core.Handle;

/**
 * Writes the callback delivery for a task that just became terminal, inside the caller's
 * transaction (the outbox): if the transaction commits the callback will be sent, if it rolls back
 * there is nothing to send.
 */
public final class CallbackOutbox {

    /**
     * The first {@code :handed_over} rows are written claimed, for this node's dispatcher ({@link
     * LocalDeliveries}).
     */
    private static final String INSERT_MANY =
            """
            INSERT INTO callback_deliveries (id, task_id, event_type, url, body, attempts, next_attempt_at,
                                             trace_parent, trace_state)
            SELECT d.id, d.task_id, d.event_type, d.url, d.body,
                   CASE WHEN d.n <= :handed_over THEN 1 ELSE 0 END,
                   CASE WHEN d.n <= :handed_over THEN now() + make_interval(secs => :lease_seconds) ELSE now() END,
                   d.trace_parent, d.trace_state
              FROM unnest(CAST(:ids AS uuid[]), CAST(:task_ids AS uuid[]), CAST(:event_types AS text[]),
                          CAST(:urls AS text[]), %s,
                          CAST(:trace_parents AS text[]), CAST(:trace_states AS text[]))
                   WITH ORDINALITY AS d (id, task_id, event_type, url, body, trace_parent, trace_state, n)
            """
                    .formatted(JsonTexts.split("bodies"));

    /** Events of no task (operator alerts), due at once for any node's dispatcher. */
    private static final String INSERT_EVENTS =
            """
            INSERT INTO callback_deliveries (id, task_id, event_type, url, body)
            SELECT d.id, NULL, :event_type, :url, d.body
              FROM unnest(CAST(:ids AS uuid[]), %s) AS d (id, body)
            """
                    .formatted(JsonTexts.split("bodies"));

    private final ObjectMapper json;
    private final TaskJson taskJson;
    private final Supplier<UUID> ids;
    private final WakeUp dispatcherWakeUp;
    private final LocalDeliveries local;

    /**
     * @param local deliveries this node's dispatcher takes straight from memory ({@link
     *     LocalDeliveries#none()} for none)
     */
    public CallbackOutbox(
            ObjectMapper json,
            TaskJson taskJson,
            Supplier<UUID> ids,
            WakeUp dispatcherWakeUp,
            LocalDeliveries local) {
        this.json = json;
        this.taskJson = taskJson;
        this.ids = ids;
        this.dispatcherWakeUp = dispatcherWakeUp;
        this.local = local;
    }

    /**
     * Queues the task's terminal event if it has a callback URL; call inside the transaction that
     * ended it.
     */
    public void enqueue(Handle handle, Task task) {
        enqueueAll(handle, List.of(task));
    }

    /**
     * Queues the terminal events of many tasks in one multi-row INSERT; tasks that are not terminal
     * or have no callback URL are skipped. Call inside the transaction that ended them: once it
     * commits, this node's dispatcher is woken and handed what it has room for.
     */
    public void enqueueAll(Handle handle, List<Task> tasks) {
        List<Task> due =
                tasks.stream()
                        .filter(t -> t.callbackUrl() != null && t.state().isTerminal())
                        .toList();
        if (due.isEmpty()) {
            return;
        }
        UUID[] ids = new UUID[due.size()];
        UUID[] taskIds = new UUID[due.size()];
        String[] types = new String[due.size()];
        String[] urls = new String[due.size()];
        String[] bodies = new String[due.size()];
        TraceContext[] traces = new TraceContext[due.size()];
        for (int i = 0; i < due.size(); i++) {
            Task task = due.get(i);
            ids[i] = this.ids.get();
            taskIds[i] = task.id();
            types[i] = "task." + task.state().wire();
            urls[i] = task.callbackUrl();
            bodies[i] = write(event(task, types[i]));
            traces[i] = task.trace() == null ? TraceContext.NONE : task.trace();
        }
        int handedOver = Math.min(due.size(), local.room());
        handle.createUpdate(INSERT_MANY)
                .bind("ids", ids)
                .bind("task_ids", taskIds)
                .bind("event_types", types)
                .bind("urls", urls)
                .bind("bodies", JsonTexts.join(bodies))
                .bind(
                        "trace_parents",
                        Arrays.stream(traces).map(TraceContext::traceparent).toArray(String[]::new))
                .bind(
                        "trace_states",
                        Arrays.stream(traces).map(TraceContext::tracestate).toArray(String[]::new))
                .bind("handed_over", handedOver)
                .bind("lease_seconds", local.lease().toMillis() / 1000.0)
                .execute();
        List<CallbackDelivery> claimed = new ArrayList<>(handedOver);
        for (int i = 0; i < handedOver; i++) {
            claimed.add(new CallbackDelivery(ids[i], taskIds[i], urls[i], bodies[i], 1, traces[i]));
        }
        Runnable committed =
                () -> {
                    local.handOver(claimed);
                    dispatcherWakeUp.signal();
                };
        if (handle.isInTransaction()) {
            handle.afterCommit(committed); // a rollback leaves nothing to send
        } else {
            committed.run();
        }
    }

    /**
     * Queues events of no task ({@code bodies}, each sent as it is, signed, to {@code url}), such
     * as operator alerts; call inside the transaction that decided them: a rollback leaves nothing
     * to send. Delivered like callbacks (retries, then {@code dead}), by any node's dispatcher.
     */
    public void enqueueEvents(Handle handle, String url, String eventType, List<String> bodies) {
        if (bodies.isEmpty()) {
            return;
        }
        handle.createUpdate(INSERT_EVENTS)
                .bind("ids", bodies.stream().map(b -> this.ids.get()).toArray(UUID[]::new))
                .bind("event_type", eventType)
                .bind("url", url)
                .bind("bodies", JsonTexts.join(bodies.toArray(String[]::new)))
                .execute();
        if (handle.isInTransaction()) {
            handle.afterCommit(dispatcherWakeUp::signal);
        } else {
            dispatcherWakeUp.signal();
        }
    }

    private ObjectNode event(Task task, String type) {
        ObjectNode event = json.createObjectNode();
        event.put("type", type);
        event.put("timestamp", Timestamps.rfc3339(task.finishedAt()));
        event.set("data", taskJson.toJson(task));
        return event;
    }

    private String write(ObjectNode event) {
        return JsonMapper.write(json, event);
    }
}
