package dev.pulse.server.cli;

import dev.pulse.executors.agents.Durations;
import dev.pulse.server.bench.Benchmarks;
import dev.pulse.server.bench.KeySpread;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description =
                "Benchmarks on a Pulse node started for the purpose (on a fresh embedded PostgreSQL unless "
                        + "--database-url is given). PULSE_* variables such as PULSE_WORKER_CONCURRENCY apply.",
        subcommands = {
            BenchCommand.BurnDownCommand.class,
            BenchCommand.HttpCommand.class,
            BenchCommand.LatencyCommand.class
        })
final class BenchCommand implements Runnable {

    @Override
    public void run() {
        System.out.println(
                "usage: pulse bench burn-down --tasks N [--callbacks] [--limited-agent N] [--nodes N] [--keys N [--per-key-concurrency N]] | pulse bench http --connections N --duration 15s [--reads] | pulse bench latency --samples N");
    }

    @Command(
            name = "burn-down",
            mixinStandardHelpOptions = true,
            description =
                    "Enqueue N no-op tasks through the batch API, then time until all are done.")
    static final class BurnDownCommand implements Callable<Integer> {
        @Option(
                names = "--tasks",
                defaultValue = "100000",
                description = "how many tasks (default ${DEFAULT-VALUE})")
        int tasks;

        @Option(
                names = "--callbacks",
                description = "deliver each result to a built-in loopback receiver")
        boolean callbacks;

        @Option(
                names = "--database-url",
                description =
                        "a database to run on, empty or one that holds Pulse "
                                + "(the bench makes its own admin key and removes it when done; default: a fresh embedded one)")
        String databaseUrl;

        @Option(
                names = "--limited-agent",
                defaultValue = "0",
                paramLabel = "N",
                description =
                        "store an extra agent with max_concurrency N for the run (no tasks of its own), "
                                + "to measure claims while some agent has a limit (default: none)")
        int limitedAgent;

        @Option(
                names = "--nodes",
                defaultValue = "1",
                paramLabel = "N",
                description =
                        "how many nodes claim from the one database, all in this process: one with the API, "
                                + "the others worker-only (default ${DEFAULT-VALUE})")
        int nodes;

        @Option(
                names = "--keys",
                defaultValue = "0",
                paramLabel = "N",
                description =
                        "spread the tasks round-robin over N concurrency keys (default: no keys)")
        int keys;

        @Option(
                names = "--per-key-concurrency",
                defaultValue = "0",
                paramLabel = "N",
                description =
                        "with --keys, run the tasks on an agent (the in-JVM echo, stored for the run) "
                                + "with per_key_concurrency N (default: echo, no limit)")
        int perKeyConcurrency;

        @Option(
                names = "--warmup",
                defaultValue = "0",
                description =
                        "first burn down this many tasks, untimed, so the timed run meets a warmed-up JVM (default ${DEFAULT-VALUE})")
        int warmup;

        @Override
        public Integer call() throws Exception {
            return Benchmarks.burnDown(
                    databaseUrl,
                    warmup,
                    tasks,
                    callbacks,
                    limitedAgent,
                    Math.max(1, nodes),
                    new KeySpread(Math.max(0, keys), Math.max(0, perKeyConcurrency)),
                    System.out);
        }
    }

    @Command(
            name = "http",
            mixinStandardHelpOptions = true,
            description =
                    "Single POST /v1/tasks of no-op tasks from N concurrent connections for a while, then "
                            + "until every task ran: requests per second and latency percentiles.")
    static final class HttpCommand implements Callable<Integer> {
        @Option(
                names = "--connections",
                defaultValue = "64",
                paramLabel = "N",
                description =
                        "concurrent keep-alive connections, each sending its next request when answered (default ${DEFAULT-VALUE})")
        int connections;

        @Option(
                names = "--duration",
                defaultValue = "15s",
                description = "how long to send, e.g. 15s or 1m (default ${DEFAULT-VALUE})")
        String duration;

        @Option(
                names = "--reads",
                description =
                        "then, as long again, GET /v1/tasks/{id} of the tasks queued, printing an `http get:` line")
        boolean reads;

        @Option(
                names = "--database-url",
                description =
                        "a database to run on, empty or one that holds Pulse (default: a fresh embedded one)")
        String databaseUrl;

        @Override
        public Integer call() throws Exception {
            Duration parsed = Durations.parse(duration).filter(d -> !d.isZero()).orElse(null);
            if (parsed == null || connections < 1) {
                System.err.println(
                        "--duration must be a positive duration such as 15s or 1m, and --connections at least 1");
                return 2;
            }
            return Benchmarks.http(databaseUrl, connections, parsed, reads, System.out);
        }
    }

    @Command(
            name = "latency",
            mixinStandardHelpOptions = true,
            description =
                    "Sequential single tasks over HTTP on an idle node: enqueue-to-start percentiles.")
    static final class LatencyCommand implements Callable<Integer> {
        @Option(
                names = "--samples",
                defaultValue = "1000",
                description = "how many tasks (default ${DEFAULT-VALUE})")
        int samples;

        @Option(
                names = "--database-url",
                description =
                        "a database to run on, empty or one that holds Pulse (default: a fresh embedded one)")
        String databaseUrl;

        @Override
        public Integer call() throws Exception {
            return Benchmarks.latency(databaseUrl, samples, System.out);
        }
    }
}
