package dev.pulse.server.bench;

import java.io.PrintStream;
import java.time.Duration;

/** Entry points of {@code pulse bench}. */
public final class Benchmarks {

    private Benchmarks() {}

    /**
     * @param warmup tasks burnt down first, untimed (their lines are marked as the warm-up), or 0
     */
    public static int burnDown(
            String databaseUrl, int warmup, int tasks, boolean callbacks, PrintStream out)
            throws Exception {
        return burnDown(databaseUrl, warmup, tasks, callbacks, 0, 1, KeySpread.NONE, out);
    }

    /** Tasks of {@code echo} without keys, as before {@code --keys}. */
    public static int burnDown(
            String databaseUrl,
            int warmup,
            int tasks,
            boolean callbacks,
            int limitedAgent,
            int nodes,
            PrintStream out)
            throws Exception {
        return burnDown(
                databaseUrl, warmup, tasks, callbacks, limitedAgent, nodes, KeySpread.NONE, out);
    }

    /**
     * @param nodes how many nodes claim, in this process, on one database
     * @param limitedAgent the max_concurrency of an extra agent present during the run (no tasks of
     *     its own), or 0 for none
     * @param spread how the tasks are spread over concurrency keys
     */
    public static int burnDown(
            String databaseUrl,
            int warmup,
            int tasks,
            boolean callbacks,
            int limitedAgent,
            int nodes,
            KeySpread spread,
            PrintStream out)
            throws Exception {
        try (BenchNode bench = new BenchNode(databaseUrl, limitedAgent, nodes, spread)) {
            if (spread.keys() > 0) {
                out.printf(
                        "tasks spread over %d concurrency keys, agent %s%s%n",
                        spread.keys(),
                        spread.agent(),
                        spread.perKeyConcurrency() > 0
                                ? " with per_key_concurrency " + spread.perKeyConcurrency()
                                : "");
            }
            if (nodes > 1) {
                out.printf(
                        "%d nodes claim (1 with the API, %d worker-only, in this process)%n",
                        nodes, nodes - 1);
            }
            if (limitedAgent > 0) {
                out.printf(
                        "agent %s with max_concurrency %d present (no tasks of its own)%n",
                        BenchNode.LIMITED_AGENT, limitedAgent);
            }
            if (warmup > 0) {
                out.printf("warm-up: %d tasks, not timed%n", warmup);
                new BurnDown(bench, out, "warm-up ", spread).run(warmup, callbacks);
                out.println("timed run:");
            }
            new BurnDown(bench, out, "", spread).run(tasks, callbacks);
        }
        return 0;
    }

    /**
     * Single {@code POST /v1/tasks} from {@code connections} concurrent connections for {@code
     * duration}, then until every task queued has run.
     */
    public static int http(
            String databaseUrl, int connections, Duration duration, boolean reads, PrintStream out)
            throws Exception {
        try (BenchNode bench = new BenchNode(databaseUrl)) {
            new HttpLoad(bench, out).run(connections, duration, reads);
        }
        return 0;
    }

    public static int latency(String databaseUrl, int samples, PrintStream out) throws Exception {
        try (BenchNode bench = new BenchNode(databaseUrl)) {
            new Latency(bench, out).run(samples);
        }
        return 0;
    }
}
