package dev.pulse.server.bench;

import dev.pulse.workers.tasks.TaskFigures;
import io.micrometer.core.instrument.Counter;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Single {@code POST /v1/tasks} of no-op ({@code echo}) tasks from {@code connections} concurrent
 * keep-alive connections for a fixed time, each connection sending its next request as soon as the
 * last is answered (a closed loop, as wrk runs); then waits until every task queued has run, and
 * reports the requests answered 201 per second of the load with their latency percentiles; then, if
 * asked, reads those tasks back one {@code GET /v1/tasks/{id}} at a time the same way.
 *
 * <p>The generator runs in the node's process: its threads' CPU time is measured apart and printed
 * beside the process's, so that the node's own cost per request can be told from it.
 */
final class HttpLoad {

    private static final String BODY = "{\"agent\": \"echo\"}";

    private final BenchNode bench;
    private final PrintStream out;

    HttpLoad(BenchNode bench, PrintStream out) {
        this.bench = bench;
        this.out = out;
    }

    /**
     * @param reads after the POSTs, as long again of {@code GET /v1/tasks/{id}} of the tasks they
     *     queued
     */
    void run(int connections, Duration duration, boolean reads) throws Exception {
        String host = "127.0.0.1:" + bench.node.port();
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", bench.node.port());
        String authorization = "Authorization: Bearer " + bench.key + "\r\n";
        byte[] post =
                KeepAliveConnection.request(
                        "POST",
                        host,
                        "/v1/tasks",
                        authorization + "Content-Type: application/json\r\n",
                        BODY);
        Queue<String> queued = new ConcurrentLinkedQueue<>();
        long succeededBefore = finished();
        CpuMeter.Reading cpuBefore = bench.cpu.read();
        long start = System.nanoTime();
        Load posts =
                load(
                        address,
                        connections,
                        duration,
                        (connection, n) -> post,
                        201,
                        a -> queued.add(a.location()));
        int requests = posts.nanos().length;
        long lastReport = System.nanoTime();
        while (finished() - succeededBefore < requests || bench.query(TaskFigures::anyUnfinished)) {
            if (System.nanoTime() - lastReport >= 2_000_000_000L) {
                out.printf(
                        "  waiting for the tasks to run: %d of %d done%n",
                        finished() - succeededBefore, requests);
                lastReport = System.nanoTime();
            }
            Thread.sleep(10);
        }
        double allRun = (System.nanoTime() - start) / 1e9;
        print("http", posts);
        out.printf(
                "  %d connections; every task run %.1f s after the start; %d requests not answered 201%n",
                connections, allRun, posts.refused());
        printCpu(cpuBefore, bench.cpu.read(), requests, posts.generatorNanos());
        if (reads) {
            List<byte[]> gets =
                    queued.stream()
                            .map(
                                    location ->
                                            KeepAliveConnection.request(
                                                    "GET", host, location, authorization, null))
                            .toList();
            CpuMeter.Reading readsBefore = bench.cpu.read();
            // Each connection walks the tasks from its own place, so no two read the same row at
            // once.
            Load got =
                    load(
                            address,
                            connections,
                            duration,
                            (connection, n) ->
                                    gets.get(
                                            (int)
                                                    ((connection * (long) gets.size() / connections
                                                                    + n)
                                                            % gets.size())),
                            200,
                            a -> {});
            print("http get", got);
            out.printf(
                    "  %d connections reading %d tasks by id; %d requests not answered 200%n",
                    connections, gets.size(), got.refused());
            printCpu(readsBefore, bench.cpu.read(), got.nanos().length, got.generatorNanos());
        }
        out.printf(
                "peak RSS of the node's process (JVM, with the load generator; the embedded database runs apart): %d MiB%n",
                BenchNode.peakRssMiB());
    }

    /** Which request (its bytes) a connection sends as its {@code n}th. */
    private interface Requests {
        byte[] next(int connection, long n);
    }

    /**
     * A load's answered requests' latencies (sorted, nanoseconds), its length, refusals and the CPU
     * time its sending threads took.
     */
    private record Load(long[] nanos, double seconds, long refused, long generatorNanos) {}

    /**
     * {@code connections} closed loops for {@code duration}, each sending its next request as soon
     * as the last is answered.
     */
    private static Load load(
            InetSocketAddress address,
            int connections,
            Duration duration,
            Requests requests,
            int expected,
            Consumer<KeepAliveConnection.Answer> answered)
            throws Exception {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        AtomicLong refused = new AtomicLong();
        AtomicLong generatorNanos = new AtomicLong();
        long start = System.nanoTime();
        long end = start + duration.toNanos();
        ExecutorService senders = Executors.newFixedThreadPool(connections);
        List<Future<long[]>> sent = new ArrayList<>();
        for (int c = 0; c < connections; c++) {
            int connection = c;
            sent.add(
                    senders.submit(
                            () -> {
                                long cpuStart = threads.getCurrentThreadCpuTime();
                                Latencies own = new Latencies();
                                long n = 0;
                                try (KeepAliveConnection http = new KeepAliveConnection(address)) {
                                    while (System.nanoTime() < end) {
                                        long t0 = System.nanoTime();
                                        try {
                                            KeepAliveConnection.Answer a =
                                                    http.send(requests.next(connection, n++));
                                            if (a.status() == expected) {
                                                own.add(System.nanoTime() - t0);
                                                answered.accept(a);
                                            } else {
                                                refused.incrementAndGet();
                                            }
                                        } catch (IOException e) {
                                            refused.incrementAndGet();
                                        }
                                    }
                                }
                                generatorNanos.addAndGet(
                                        threads.getCurrentThreadCpuTime() - cpuStart);
                                return own.toArray();
                            }));
        }
        List<long[]> perConnection = new ArrayList<>();
        for (Future<long[]> f : sent) {
            perConnection.add(f.get());
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        senders.shutdown();
        long[] nanos = perConnection.stream().flatMapToLong(Arrays::stream).sorted().toArray();
        return new Load(nanos, seconds, refused.get(), generatorNanos.get());
    }

    private void print(String what, Load load) {
        out.printf(
                "%s: %d requests in %.1f s = %.0f requests/s p50=%.1f p99=%.1f ms%n",
                what,
                load.nanos().length,
                load.seconds(),
                load.nanos().length / load.seconds(),
                percentile(load.nanos(), 50) / 1e6,
                percentile(load.nanos(), 99) / 1e6);
    }

    /** Tasks this node's workers finished as succeeded (its own counter: costs no query). */
    private long finished() {
        long sum = 0;
        for (var node : bench.nodes()) {
            sum +=
                    (long)
                            node
                                    .meters()
                                    .find("pulse.attempts.finished")
                                    .tag("outcome", "succeeded")
                                    .counters()
                                    .stream()
                                    .mapToDouble(Counter::count)
                                    .sum();
        }
        return sum;
    }

    /** CPU per request, from the start of the load until every task ran. */
    private void printCpu(
            CpuMeter.Reading before, CpuMeter.Reading after, int requests, long generatorNanos) {
        if (before.nodeSeconds() < 0 || requests == 0) {
            return;
        }
        printCpuOf(before, after, requests);
        out.printf(
                "  of which the load generator's threads (not Pulse): %.0f µs per task%n",
                generatorNanos / 1e3 / requests);
    }

    private void printCpuOf(CpuMeter.Reading before, CpuMeter.Reading after, int requests) {
        double node = after.nodeSeconds() - before.nodeSeconds();
        if (before.databaseSeconds() < 0 || after.databaseSeconds() < 0) {
            out.printf(
                    "cpu: this process (node and load generator) %.1f s = %.0f µs per task; the database is not embedded, so not measured%n",
                    node, node * 1e6 / requests);
            return;
        }
        double database = after.databaseSeconds() - before.databaseSeconds();
        out.printf(
                "cpu: this process (node and load generator) %.1f s + embedded database %.1f s = %.0f + %.0f µs per task%n",
                node, database, node * 1e6 / requests, database * 1e6 / requests);
    }

    private static double percentile(long[] sorted, int p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
    }

    /** A growable array of one connection's latencies, in nanoseconds. */
    private static final class Latencies {
        private long[] values = new long[4096];
        private int size;

        void add(long nanos) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = nanos;
        }

        long[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }
}
