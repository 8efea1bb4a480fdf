package dev.pulse.workers.tasks;

import dev.pulse.workers.maintenance.PeriodicDuty;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the dashboard's per-minute throughput rollup: every few seconds this node adds what its
 * workers finished since the last time (read from its own metric counters, so the queue's code
 * paths and the tasks table are untouched) to {@code dashboard_minutes}, per minute of the database
 * clock and per agent. Rows older than {@link #KEEP} are pruned now and then. Runs on every node; a
 * node without workers finishes nothing and writes nothing.
 */
public final class ThroughputRollup extends PeriodicDuty {

    private static final Logger log = LoggerFactory.getLogger(ThroughputRollup.class);
    static final Duration KEEP = Duration.ofHours(3);
    private static final Duration PRUNE_EVERY = Duration.ofMinutes(10);

    private static final String ADD =
            """
            INSERT INTO dashboard_minutes AS m (minute, node, agent, succeeded, failed, runs, run_ms)
            SELECT date_trunc('minute', now()), :node, u.agent, u.succeeded, u.failed, u.runs, u.run_ms
              FROM unnest(CAST(:agents AS text[]), CAST(:succeeded AS integer[]), CAST(:failed AS integer[]),
                          CAST(:runs AS integer[]), CAST(:run_ms AS bigint[])) AS u (agent, succeeded, failed, runs, run_ms)
            ON CONFLICT (minute, node, agent) DO UPDATE
               SET succeeded = m.succeeded + EXCLUDED.succeeded, failed = m.failed + EXCLUDED.failed,
                   runs = m.runs + EXCLUDED.runs, run_ms = m.run_ms + EXCLUDED.run_ms
            """;

    private static final String PRUNE =
            "DELETE FROM dashboard_minutes WHERE minute < now() - make_interval(secs => :seconds)";

    /** Cumulative figures of one agent on this node. */
    private record Totals(long succeeded, long failed, long runs, long runMs) {
        Totals minus(Totals o) {
            return new Totals(
                    succeeded - o.succeeded, failed - o.failed, runs - o.runs, runMs - o.runMs);
        }

        boolean isZero() {
            return succeeded == 0 && failed == 0 && runs == 0 && runMs == 0;
        }
    }

    private final Jdbi jdbi;
    private final MeterRegistry registry;
    private final String node;
    private Map<String, Totals> recorded = new HashMap<>();
    private long lastPruneNanos = System.nanoTime() - PRUNE_EVERY.toNanos();

    public ThroughputRollup(Jdbi jdbi, MeterRegistry registry, String node, Duration interval) {
        super("dashboard-rollup", interval, interval);
        this.jdbi = jdbi;
        this.registry = registry;
        this.node = node;
    }

    @Override
    protected void pass() {
        flush();
    }

    @Override
    protected void failed(RuntimeException e) {
        // the figures stay counted in memory and are added on the next successful flush
        log.debug("dashboard rollup not written this time: {}", e.getMessage());
    }

    /**
     * Adds what finished since the last flush; synchronized so a closing flush never races the
     * timer's.
     */
    synchronized void flush() {
        Map<String, Totals> now = read();
        List<String> agents = new ArrayList<>();
        List<Integer> succeeded = new ArrayList<>();
        List<Integer> failed = new ArrayList<>();
        List<Integer> runs = new ArrayList<>();
        List<Long> runMs = new ArrayList<>();
        now.forEach(
                (agent, totals) -> {
                    Totals delta =
                            totals.minus(recorded.getOrDefault(agent, new Totals(0, 0, 0, 0)));
                    if (!delta.isZero()) {
                        agents.add(agent);
                        succeeded.add((int) delta.succeeded());
                        failed.add((int) delta.failed());
                        runs.add((int) delta.runs());
                        runMs.add(delta.runMs());
                    }
                });
        boolean prune = System.nanoTime() - lastPruneNanos >= PRUNE_EVERY.toNanos();
        if (agents.isEmpty() && !prune) {
            return;
        }
        jdbi.useTransaction(
                h -> {
                    if (!agents.isEmpty()) {
                        h.createUpdate(ADD)
                                .bind("node", node)
                                .bind("agents", agents.toArray(String[]::new))
                                .bind("succeeded", succeeded.toArray(Integer[]::new))
                                .bind("failed", failed.toArray(Integer[]::new))
                                .bind("runs", runs.toArray(Integer[]::new))
                                .bind("run_ms", runMs.toArray(Long[]::new))
                                .execute();
                    }
                    if (prune) {
                        h.createUpdate(PRUNE).bind("seconds", (double) KEEP.toSeconds()).execute();
                    }
                });
        recorded = now;
        if (prune) {
            lastPruneNanos = System.nanoTime();
        }
    }

    /**
     * This node's cumulative finished attempts and run time per agent, from its metric registry.
     */
    private Map<String, Totals> read() {
        Map<String, long[]> sums = new HashMap<>();
        for (Counter c : registry.find("pulse.attempts.finished").counters()) {
            String agent = c.getId().getTag("agent");
            String outcome = c.getId().getTag("outcome");
            if (agent == null) {
                continue;
            }
            long[] s = sums.computeIfAbsent(agent, a -> new long[4]);
            if ("succeeded".equals(outcome)) {
                s[0] += (long) c.count();
            } else if ("failed".equals(outcome)) {
                s[1] += (long) c.count();
            }
        }
        for (Timer t : registry.find("pulse.attempt.run").timers()) {
            String agent = t.getId().getTag("agent");
            if (agent != null) {
                long[] s = sums.computeIfAbsent(agent, a -> new long[4]);
                s[2] += t.count();
                s[3] += (long) t.totalTime(TimeUnit.MILLISECONDS);
            }
        }
        Map<String, Totals> totals = new HashMap<>();
        sums.forEach((agent, s) -> totals.put(agent, new Totals(s[0], s[1], s[2], s[3])));
        return totals;
    }

    @Override
    public void close() {
        super.close();
        try {
            flush();
        } catch (RuntimeException e) {
            log.debug("last dashboard rollup not written: {}", e.getMessage());
        }
    }
}
