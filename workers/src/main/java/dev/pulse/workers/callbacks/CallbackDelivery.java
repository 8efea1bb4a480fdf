package dev.pulse.workers.callbacks;

import dev.pulse.executors.TraceContext;
import java.util.UUID;

/**
 * A claimed outbox row: what to send, where, how many attempts it has had including this one, and
 * its task's trace context.
 */
public record CallbackDelivery(
        UUID id, UUID taskId, String url, String body, int attempts, TraceContext trace) {

    public CallbackDelivery {
        if (trace == null) {
            trace = TraceContext.NONE;
        }
    }

    /** A delivery outside any trace. */
    public CallbackDelivery(UUID id, UUID taskId, String url, String body, int attempts) {
        this(id, taskId, url, body, attempts, TraceContext.NONE);
    }

    /** The Standard Webhooks message id: the same for every retry of this delivery. */
    public String webhookId() {
        return "msg_" + id.toString().replace("-", "");
    }
}
