package dev.pulse.server.dashboard;

import dev.pulse.workers.callbacks.CallbackDeliveries;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;

/**
 * {@code /dashboard/callbacks}: deliveries that are failing (still retrying) or dead, with
 * redeliver.
 */
final class CallbacksPage {

    static final String PATH = Dashboard.ROOT + "/callbacks";
    private static final int LIMIT = 100;

    private final CallbackDeliveries deliveries;
    private final Templates templates;
    private final Clock clock;

    CallbacksPage(CallbackDeliveries deliveries, Templates templates, Clock clock) {
        this.deliveries = deliveries;
        this.templates = templates;
        this.clock = clock;
    }

    void register(RoutesConfig routes) {
        routes.get(PATH, this::list, DashboardRole.SIGNED_IN);
    }

    private void list(Context ctx) {
        Instant now = clock.instant();
        Map<String, Object> model = new HashMap<>();
        model.put("nav", "callbacks");
        model.put(
                "failing",
                deliveries.failing(LIMIT).stream()
                        .map(d -> TaskDetailPage.delivery(d, now))
                        .toList());
        model.put(
                "dead",
                deliveries.dead(LIMIT).stream().map(d -> TaskDetailPage.delivery(d, now)).toList());
        model.put("limit", LIMIT);
        if ("redelivered".equals(ctx.queryParam("done"))) {
            model.put("notice", "The callback will be sent again shortly.");
        }
        templates.render(ctx, "callbacks", model);
    }
}
