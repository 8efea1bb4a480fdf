package dev.pulse.server.dashboard;

import dev.pulse.workers.nodes.NodeDirectory;
import dev.pulse.workers.nodes.RemoteWorkers;
import dev.pulse.workers.tasks.TaskFigures;
import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jdbi.v3.core.Jdbi;

/**
 * {@code /dashboard/nodes}: every node in {@code nodes} with its roles and heartbeat (alive while
 * the heartbeat is younger than a lease, by the database clock), and the attempts it runs now
 * (running tasks by lease owner, from the running-rows index); then the remote workers seen lately,
 * with the tasks they hold (lease owner {@code remote:<worker>}).
 */
final class NodesPage {

    private final TaskFigures tasks;
    private final NodeDirectory nodes;
    private final RemoteWorkers remoteWorkers;
    private final Templates templates;
    private final Duration lease;
    private final Clock clock;

    NodesPage(Jdbi jdbi, Templates templates, Duration lease, Clock clock) {
        this.tasks = new TaskFigures(jdbi);
        this.nodes = new NodeDirectory(jdbi);
        this.remoteWorkers = new RemoteWorkers(jdbi);
        this.templates = templates;
        this.lease = lease;
        this.clock = clock;
    }

    void register(RoutesConfig routes) {
        routes.get(Dashboard.ROOT + "/nodes", this::list, DashboardRole.SIGNED_IN);
    }

    private void list(Context ctx) {
        Instant now = clock.instant();
        Map<String, List<Map<String, Object>>> runningByNode = new HashMap<>();
        for (TaskFigures.RunningNow r : tasks.running()) {
            Map<String, Object> a = new HashMap<>();
            a.put("taskId", r.taskId().toString());
            a.put("agent", r.agent());
            a.put("attempt", r.attempt());
            a.put("runningFor", Formats.between(r.startedAt(), now));
            runningByNode.computeIfAbsent(r.leaseOwner(), n -> new ArrayList<>()).add(a);
        }
        List<Map<String, Object>> nodes = new ArrayList<>();
        for (NodeDirectory.Node node : this.nodes.all(lease)) {
            Map<String, Object> n = new HashMap<>();
            n.put("id", node.id());
            n.put("host", node.host());
            n.put("pid", node.pid());
            n.put("roles", String.join(", ", node.roles()));
            n.put("started", Formats.relative(node.startedAt(), now));
            n.put("heartbeat", Formats.relative(node.heartbeatAt(), now));
            n.put("alive", node.alive());
            n.put("running", node.running());
            n.put("attempts", runningByNode.getOrDefault(node.id(), List.of()));
            nodes.add(n);
        }
        List<Map<String, Object>> remote = new ArrayList<>();
        for (RemoteWorkers.Worker worker : remoteWorkers.all()) {
            List<Map<String, Object>> attempts =
                    runningByNode.getOrDefault(worker.leaseOwner(), List.of());
            Map<String, Object> w = new HashMap<>();
            w.put("id", worker.id());
            w.put("key", worker.keyName() == null ? "–" : worker.keyName());
            w.put("lastSeen", Formats.relative(worker.lastSeenAt(), now));
            w.put("firstSeen", Formats.relative(worker.firstSeenAt(), now));
            w.put("running", attempts.size());
            w.put("attempts", attempts);
            remote.add(w);
        }
        templates.render(
                ctx, "nodes", Map.of("nav", "nodes", "nodes", nodes, "remoteWorkers", remote));
    }
}
