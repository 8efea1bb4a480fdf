package dev.pulse.server;

import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.server.api.ApiServer;
import dev.pulse.server.config.PulseConfig;
import dev.pulse.server.config.Role;
import dev.pulse.server.metrics.NodeMetrics;
import dev.pulse.workers.maintenance.Duties;
import dev.pulse.workers.schedules.ScheduleParser;
import io.javalin.config.RoutesConfig;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One running Pulse process: the {@link NodeCore} every node has, plus its roles ({@link
 * WorkerRole}, {@link SchedulerRole}, {@link ApiRole}), closed in reverse order of starting.
 */
public final class PulseNode implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PulseNode.class);

    private final NodeMetrics nodeMetrics = new NodeMetrics();
    private final Duties parts = new Duties(nodeMetrics.registry());
    private volatile ApiServer api;

    private final Clock clock;
    private final Consumer<RoutesConfig> httpHooks;

    private PulseNode(Clock clock, Consumer<RoutesConfig> httpHooks) {
        this.clock = clock;
        this.httpHooks = httpHooks;
        parts.add(nodeMetrics);
    }

    /**
     * Starts every part of a node; if one part fails, the parts already started are closed again.
     */
    public static PulseNode start(
            PulseConfig config, Clock clock, Function<String, String> environment) {
        return start(config, clock, environment, routes -> {});
    }

    /**
     * As {@link #start(PulseConfig, Clock, Function)}, with extra handlers on the HTTP server
     * ({@code httpHooks}, registered after the node's routes): tests check every response there.
     */
    public static PulseNode start(
            PulseConfig config,
            Clock clock,
            Function<String, String> environment,
            Consumer<RoutesConfig> httpHooks) {
        PulseNode node = new PulseNode(clock, httpHooks);
        try {
            node.startRoles(config, environment);
            return node;
        } catch (RuntimeException e) {
            node.close();
            throw e;
        }
    }

    private void startRoles(PulseConfig config, Function<String, String> environment) {
        NodeCore core =
                new NodeCore(
                        config,
                        clock,
                        environment,
                        nodeMetrics,
                        parts,
                        () -> ApiRole.reportBaseUrl(config, api));
        if (config.runs(Role.WORKER)) {
            WorkerRole.start(core);
        }
        ScheduleParser scheduleParser =
                new ScheduleParser(core.json, core.agents, config.egress(), core.clock);
        Runnable schedulesChanged =
                config.runs(Role.SCHEDULER) ? SchedulerRole.start(core, scheduleParser) : () -> {};
        api = ApiRole.start(core, scheduleParser, schedulesChanged, httpHooks);
        log.info(
                "Pulse node {} ({}) listening on http://{}:{} with {} agent(s): {}",
                core.nodeId,
                String.join(", ", core.roles),
                config.httpHost(),
                api.port(),
                core.agents.all().size(),
                core.agents.all().stream().map(AgentDefinition::name).toList());
    }

    public int port() {
        return api.port();
    }

    /**
     * This node's meters (what {@code /metrics} shows), e.g. for a benchmark to follow progress
     * without counting rows.
     */
    public MeterRegistry meters() {
        return nodeMetrics.registry();
    }

    /** The HTTP server, for tests that inspect its routes. */
    public ApiServer api() {
        return api;
    }

    @Override
    public void close() {
        parts.close();
    }
}
