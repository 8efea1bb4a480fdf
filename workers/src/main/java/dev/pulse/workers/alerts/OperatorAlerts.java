package dev.pulse.workers.alerts;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.pulse.workers.callbacks.CallbackOutbox;
import dev.pulse.workers.flow.AgentHolds;
import dev.pulse.workers.flow.HoldAnnouncer;
import dev.pulse.workers.json.JsonMapper;
import dev.pulse.workers.json.Timestamps;
import java.net.URI;
import java.time.Clock;
import java.util.List;
import org.jdbi.v3.core.Handle;

/**
 * Announces to the operator webhook ({@code PULSE_ALERT_URL}) each hold that begins: a provider's
 * back-off, a spent daily budget of an agent or of one of its keys, with the agent (and key), the
 * reason and until when. The alert is written to the callback outbox in the transaction that began
 * the hold ({@link AgentHolds}), so it is announced exactly once across all nodes, even if the node
 * stops right after or the operator's endpoint is down for a while: the callback dispatcher of any
 * node sends it, signed like task callbacks (Standard Webhooks, the cluster's webhook secret), with
 * the callbacks' retries, and shows it among the deliveries (dead ones on the dashboard's callbacks
 * page) if it never gets through.
 */
public final class OperatorAlerts implements HoldAnnouncer {

    /** The alerts' event type. */
    public static final String EVENT_TYPE = "agent.held";

    private final CallbackOutbox outbox;
    private final ObjectMapper json;
    private final Clock clock;
    private final URI url;

    public OperatorAlerts(CallbackOutbox outbox, ObjectMapper json, Clock clock, URI url) {
        this.outbox = outbox;
        this.json = json;
        this.clock = clock;
        this.url = url;
    }

    @Override
    public void announce(Handle handle, List<AgentHolds.Begun> begun) {
        outbox.enqueueEvents(
                handle, url.toString(), EVENT_TYPE, begun.stream().map(this::body).toList());
    }

    /**
     * The alert's body: {@code {"type": "agent.held", "timestamp", "data": {agent, concurrency_key,
     * reason, until, detail}}}.
     */
    String body(AgentHolds.Begun hold) {
        ObjectNode body = json.createObjectNode();
        body.put("type", EVENT_TYPE);
        body.put("timestamp", Timestamps.rfc3339(clock.instant()));
        ObjectNode data = body.putObject("data");
        data.put("agent", hold.agent());
        data.put("concurrency_key", hold.concurrencyKey());
        data.put("reason", hold.reason().wire());
        data.put("until", Timestamps.rfc3339(hold.until()));
        data.put("detail", hold.detail());
        return JsonMapper.write(json, body);
    }
}
