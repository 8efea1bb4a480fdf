package dev.pulse.workers.callbacks;

import java.util.UUID;

/**
 * A claimed outbox row: what to send, where, and how many attempts it has had including this one.
 */
public record CallbackDelivery(UUID id, UUID taskId, String url, String body, int attempts) {

    /** The Standard Webhooks message id: the same for every retry of this delivery. */
    public String webhookId() {
        return "msg_" + id.toString().replace("-", "");
    }
}
