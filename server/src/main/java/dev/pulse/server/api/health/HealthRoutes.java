package dev.pulse.server.api.health;

import dev.pulse.server.api.JsonResponses;
import dev.pulse.workers.db.Database;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.util.Map;

/**
 * {@code /health/live}: the process answers. {@code /health/ready}: migrations ran and the database
 * answers now, so the node can take traffic.
 */
public final class HealthRoutes {

    private final Database database;
    private final JsonResponses responses;

    public HealthRoutes(Database database, JsonResponses responses) {
        this.database = database;
        this.responses = responses;
    }

    public void register(RoutesConfig routes) {
        routes.get("/health/live", ctx -> responses.send(ctx, 200, Map.of("status", "live")));
        routes.get("/health/ready", this::ready);
    }

    private void ready(Context ctx) {
        if (database.isReady()) {
            responses.send(ctx, 200, Map.of("status", "ready"));
        } else {
            responses.send(
                    ctx,
                    503,
                    Map.of(
                            "status",
                            "not ready",
                            "reason",
                            "the database does not answer or migrations have not run; see the server log"));
        }
    }
}
