package dev.pulse.server.dashboard;

import dev.pulse.workers.nodes.NodeDirectory;
import dev.pulse.workers.tasks.TaskFigures;
import dev.pulse.workers.tasks.ThroughputFigures;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jdbi.v3.core.Jdbi;

/**
 * The overview's figures as the pages show them, from the read queries of the features that own
 * them: task counts stop at {@link #CAP} rows each (shown as "10,000+"; {@link TaskFigures}),
 * finished work comes from the throughput rollup ({@link ThroughputFigures}), live nodes from
 * {@link NodeDirectory}.
 */
final class OverviewQueries {

    static final long CAP = 10_000;

    /**
     * How long a finished state's count that reached the cap is shown before it is counted again:
     * past the cap the tile reads "10,000+" whatever the history holds, and recounting it at every
     * refresh would read 3 × 10,001 index entries every second.
     */
    static final Duration FULL_COUNT_KEPT = Duration.ofMinutes(1);

    private static final List<String> UNFINISHED = List.of("scheduled", "queued", "running");

    record StateCount(String state, long count, String shown) {}

    /** Finished attempts of one minute, across nodes and agents. */
    record Minute(Instant start, long succeeded, long failed) {}

    /** Per agent: unfinished tasks now, and finished attempts in the last hour. */
    record AgentFigures(
            String agent,
            long waiting,
            long running,
            long succeeded,
            long failed,
            long runs,
            long runMs) {
        public String waitingShown() {
            return Formats.capped(waiting, CAP);
        }

        public String successRate() {
            return Formats.percent(succeeded, succeeded + failed);
        }

        public String averageRun() {
            return runs == 0 ? "–" : Formats.duration(Duration.ofMillis(runMs / runs));
        }
    }

    record LiveNode(String id, String host, List<String> roles, int running, Instant heartbeatAt) {}

    private final TaskFigures tasks;
    private final ThroughputFigures throughput;
    private final NodeDirectory nodes;
    private final Clock clock;
    private final Map<String, Long> fullCounts = new HashMap<>();
    private final Map<String, Instant> fullCountedAt = new HashMap<>();

    OverviewQueries(Jdbi jdbi) {
        this(jdbi, Clock.systemUTC());
    }

    OverviewQueries(Jdbi jdbi, Clock clock) {
        this.tasks = new TaskFigures(jdbi);
        this.throughput = new ThroughputFigures(jdbi);
        this.nodes = new NodeDirectory(jdbi);
        this.clock = clock;
    }

    /**
     * Tasks per state, each counted up to {@link #CAP} + 1: unfinished states every time (the hot
     * queue's partial indexes), finished ones too unless they reached the cap within {@link
     * #FULL_COUNT_KEPT}.
     */
    synchronized List<StateCount> stateCounts() {
        Instant now = clock.instant();
        List<String> toCount = new ArrayList<>(UNFINISHED);
        for (String state : TaskFigures.STATES) {
            Instant at = fullCountedAt.get(state);
            if (!UNFINISHED.contains(state)
                    && (at == null || !now.isBefore(at.plus(FULL_COUNT_KEPT)))) {
                toCount.add(state);
            }
        }
        Map<String, Long> counted = tasks.stateCounts(CAP, toCount);
        List<StateCount> counts = new ArrayList<>();
        for (String state : TaskFigures.STATES) {
            Long n = counted.get(state);
            if (n == null) {
                n = fullCounts.get(state);
            } else if (!UNFINISHED.contains(state) && n > CAP) {
                fullCounts.put(state, n);
                fullCountedAt.put(state, now);
            }
            counts.add(new StateCount(state, n, Formats.capped(n, CAP)));
        }
        return counts;
    }

    /** The last 60 minutes, oldest first, one entry per minute (zero where nothing finished). */
    List<Minute> lastHour() {
        return throughput.lastHour().stream()
                .map(m -> new Minute(m.start(), m.succeeded(), m.failed()))
                .toList();
    }

    /** Every agent with unfinished tasks now or finished attempts in the last hour, by name. */
    Map<String, AgentFigures> byAgent() {
        Map<String, long[]> figures = new TreeMap<>();
        for (TaskFigures.AgentLoad load : tasks.liveByAgent(CAP)) {
            long[] f = figures.computeIfAbsent(load.agent(), a -> new long[6]);
            f[0] = load.waiting();
            f[1] = load.running();
        }
        for (ThroughputFigures.AgentHour hour : throughput.lastHourByAgent()) {
            long[] f = figures.computeIfAbsent(hour.agent(), a -> new long[6]);
            f[2] = hour.succeeded();
            f[3] = hour.failed();
            f[4] = hour.runs();
            f[5] = hour.runMs();
        }
        Map<String, AgentFigures> result = new LinkedHashMap<>();
        figures.forEach(
                (agent, f) ->
                        result.put(
                                agent,
                                new AgentFigures(agent, f[0], f[1], f[2], f[3], f[4], f[5])));
        return result;
    }

    List<LiveNode> liveNodes(Duration lease) {
        return nodes.alive(lease).stream()
                .map(n -> new LiveNode(n.id(), n.host(), n.roles(), n.running(), n.heartbeatAt()))
                .toList();
    }
}
