package dev.pulse.server.bench;

import dev.pulse.workers.tasks.TaskFigures;
import io.micrometer.core.instrument.Counter;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import okhttp3.ConnectionPool;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;

/**
 * Single {@code POST /v1/tasks} of no-op ({@code echo}) tasks from {@code connections} concurrent
 * keep-alive connections for a fixed time, each connection sending its next request as soon as the
 * last is answered (a closed loop, as wrk runs); then waits until every task queued has run, and
 * reports the requests answered 201 per second of the load with their latency percentiles.
 */
final class HttpLoad {

    private static final MediaType JSON = MediaType.get("application/json");
    private static final String BODY = "{\"agent\": \"echo\"}";

    private final BenchNode bench;
    private final PrintStream out;

    HttpLoad(BenchNode bench, PrintStream out) {
        this.bench = bench;
        this.out = out;
    }

    void run(int connections, Duration duration) throws Exception {
        OkHttpClient http =
                new OkHttpClient.Builder()
                        .connectionPool(new ConnectionPool(connections, 1, TimeUnit.MINUTES))
                        .readTimeout(Duration.ofMinutes(1))
                        .retryOnConnectionFailure(false)
                        .build();
        Request request =
                new Request.Builder()
                        .url(bench.url("/v1/tasks"))
                        .header("Authorization", "Bearer " + bench.key)
                        .post(RequestBody.create(BODY, JSON))
                        .build();
        long succeededBefore = finished();
        AtomicLong refused = new AtomicLong();
        CpuMeter.Reading cpuBefore = bench.cpu.read();
        long start = System.nanoTime();
        long end = start + duration.toNanos();
        ExecutorService senders = Executors.newFixedThreadPool(connections);
        List<Future<long[]>> sent = new ArrayList<>();
        for (int c = 0; c < connections; c++) {
            sent.add(
                    senders.submit(
                            () -> {
                                Latencies own = new Latencies();
                                while (System.nanoTime() < end) {
                                    long t0 = System.nanoTime();
                                    try (Response r = http.newCall(request).execute()) {
                                        r.body().bytes();
                                        if (r.code() == 201) {
                                            own.add(System.nanoTime() - t0);
                                        } else {
                                            refused.incrementAndGet();
                                        }
                                    } catch (IOException e) {
                                        refused.incrementAndGet();
                                    }
                                }
                                return own.toArray();
                            }));
        }
        List<long[]> perConnection = new ArrayList<>();
        for (Future<long[]> f : sent) {
            perConnection.add(f.get());
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        senders.shutdown();
        http.dispatcher().executorService().shutdown();
        http.connectionPool().evictAll();
        long[] nanos = perConnection.stream().flatMapToLong(Arrays::stream).sorted().toArray();
        int requests = nanos.length;
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
        out.printf(
                "http: %d requests in %.1f s = %.0f requests/s p50=%.1f p99=%.1f ms%n",
                requests,
                seconds,
                requests / seconds,
                percentile(nanos, 50) / 1e6,
                percentile(nanos, 99) / 1e6);
        out.printf(
                "  %d connections; every task run %.1f s after the start; %d requests not answered 201%n",
                connections, allRun, refused.get());
        printCpu(cpuBefore, bench.cpu.read(), requests);
        out.printf(
                "peak RSS of the node's process (JVM, with the load generator; the embedded database runs apart): %d MiB%n",
                BenchNode.peakRssMiB());
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
    private void printCpu(CpuMeter.Reading before, CpuMeter.Reading after, int requests) {
        if (before.nodeSeconds() < 0 || requests == 0) {
            return;
        }
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
