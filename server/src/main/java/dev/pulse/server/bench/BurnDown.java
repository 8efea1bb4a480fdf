package dev.pulse.server.bench;

import com.sun.net.httpserver.HttpServer;
import dev.pulse.workers.callbacks.CallbackDeliveries;
import dev.pulse.workers.tasks.TaskFigures;
import io.micrometer.core.instrument.Counter;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;
import org.jdbi.v3.core.Handle;

/**
 * Enqueues N no-op ({@code echo}) tasks through the batch API, then times until every one has
 * succeeded (and, with callbacks, until every callback reached a loopback receiver).
 */
final class BurnDown {

    static final int BATCH = 1000;
    private static final int SENDERS = 4;
    private final BenchNode bench;
    private final PrintStream out;
    private final String linePrefix;
    private final KeySpread spread;

    /**
     * @param linePrefix starts every line printed, e.g. to tell a warm-up's lines from the timed
     *     run's
     */
    BurnDown(BenchNode bench, PrintStream out, String linePrefix) {
        this(bench, out, linePrefix, KeySpread.NONE);
    }

    /**
     * @param spread how the tasks are spread over concurrency keys
     */
    BurnDown(BenchNode bench, PrintStream out, String linePrefix, KeySpread spread) {
        this.bench = bench;
        this.out = out;
        this.linePrefix = linePrefix;
        this.spread = spread;
    }

    void run(int tasks, boolean callbacks) throws Exception {
        Receiver receiver = callbacks ? Receiver.start() : null;
        String callbackUrl =
                callbacks
                        ? "http://127.0.0.1:" + receiver.server().getAddress().getPort() + "/bench"
                        : null;
        try {
            // Finished rows already there (history) are counted once, outside the timed part.
            ToLongFunction<Handle> finishedCount =
                    callbacks ? CallbackDeliveries::delivered : TaskFigures::succeeded;
            long finishedBefore = bench.query(finishedCount::applyAsLong);
            LongSupplier progress =
                    callbacks
                            ? () -> counted("pulse.callback.attempts", "outcome", "delivered")
                            : () -> counted("pulse.attempts.finished", "outcome", "succeeded");
            long before = progress.getAsLong();
            CpuMeter.Reading cpuBefore = bench.cpu.read();
            long start = System.nanoTime();
            long generatorNanos = enqueue(tasks, callbackUrl);
            double enqueueSeconds = (System.nanoTime() - start) / 1e9;
            out.printf(
                    linePrefix + "enqueue: %d tasks in %.2f s = %.0f tasks/s%n",
                    tasks,
                    enqueueSeconds,
                    tasks / enqueueSeconds);
            // Progress is followed through this node's own counters (tasks ended, callbacks
            // delivered), which cost nothing; only at the end does the database confirm that
            // nothing is left, through the partial indexes on unfinished tasks and pending
            // deliveries. (Counting finished rows every poll took a third of the database's time on
            // this 2-core machine, and would also count the history of a database that has one.)
            Predicate<Handle> anyLeft =
                    callbacks
                            ? h -> TaskFigures.anyUnfinished(h) || CallbackDeliveries.anyPending(h)
                            : TaskFigures::anyUnfinished;
            long lastReport = System.nanoTime();
            long lastDone = 0;
            while (true) {
                long done = progress.getAsLong() - before;
                if (done >= tasks && !bench.query(anyLeft::test)) {
                    break;
                }
                if (System.nanoTime() - lastReport >= 2_000_000_000L) {
                    double window = (System.nanoTime() - lastReport) / 1e9;
                    out.printf(
                            linePrefix + "  %5.1f s: %d of %d done, %.0f tasks/s%n",
                            (System.nanoTime() - start) / 1e9,
                            done,
                            tasks,
                            (done - lastDone) / window);
                    lastReport = System.nanoTime();
                    lastDone = done;
                }
                Thread.sleep(done >= tasks ? 2 : 10);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            out.printf(
                    linePrefix + "burn-down: %d tasks in %.2f s = %.0f tasks/s%n",
                    tasks,
                    seconds,
                    tasks / seconds);
            printCpu(cpuBefore, bench.cpu.read(), tasks);
            out.printf(
                    linePrefix
                            + "  of which the load generator's threads (enqueue, not Pulse): %.0f µs per task%n",
                    generatorNanos / 1e3 / tasks);
            if (receiver != null) {
                // Its threads all started during this run, so their whole CPU time is this run's.
                out.printf(
                        linePrefix
                                + "  of which the loopback receiver's handler threads (load generator, not Pulse): %.0f µs per task%n",
                        receiver.handlerCpuNanos() / 1e3 / tasks);
            }
            long finished = bench.query(finishedCount::applyAsLong) - finishedBefore;
            out.printf(
                    linePrefix
                            + "peak RSS of the node's process (JVM; the embedded database runs apart): %d MiB%n",
                    BenchNode.peakRssMiB());
            if (finished < tasks) {
                out.printf(
                        linePrefix + "warning: only %d of %d tasks ended as expected%n",
                        finished,
                        tasks);
            }
        } finally {
            if (receiver != null) {
                receiver.stop();
            }
        }
    }

    /** CPU per task while timed: steadier than throughput when the machine is shared. */
    private void printCpu(CpuMeter.Reading before, CpuMeter.Reading after, int tasks) {
        double node = after.nodeSeconds() - before.nodeSeconds();
        if (before.nodeSeconds() < 0) {
            return;
        }
        if (before.databaseSeconds() < 0 || after.databaseSeconds() < 0) {
            out.printf(
                    linePrefix
                            + "cpu while timed: this process (node and load generator) %.1f s = %.0f µs per task; the database is not embedded, so not measured%n",
                    node,
                    node * 1e6 / tasks);
            return;
        }
        double database = after.databaseSeconds() - before.databaseSeconds();
        out.printf(
                linePrefix
                        + "cpu while timed: this process (node and load generator) %.1f s + embedded database %.1f s = %.0f + %.0f µs per task%n",
                node,
                database,
                node * 1e6 / tasks,
                database * 1e6 / tasks);
    }

    private long counted(String name, String tag, String value) {
        long sum = 0;
        for (var node : bench.nodes()) {
            sum +=
                    (long)
                            node.meters().find(name).tag(tag, value).counters().stream()
                                    .mapToDouble(Counter::count)
                                    .sum();
        }
        return sum;
    }

    /**
     * Sends the batches over {@link #SENDERS} keep-alive connections, each thread building its own
     * batches' bodies; returns the CPU time of those threads, which is the load generator's, not
     * Pulse's. (The JDK's HttpClient took about a fifth of a cold 20,000-task run's process CPU,
     * most of it compiling its own code, and was counted as the node's.)
     */
    private long enqueue(int tasks, String callbackUrl) throws Exception {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", bench.node.port());
        String host = "127.0.0.1:" + bench.node.port();
        String headers =
                "Authorization: Bearer " + bench.key + "\r\nContent-Type: application/json\r\n";
        AtomicInteger nextBatch = new AtomicInteger();
        AtomicLong generatorNanos = new AtomicLong();
        ExecutorService senders = Executors.newFixedThreadPool(SENDERS);
        List<Future<?>> sent = new ArrayList<>();
        for (int s = 0; s < SENDERS; s++) {
            sent.add(
                    senders.submit(
                            () -> {
                                long cpuStart = threads.getCurrentThreadCpuTime();
                                try (KeepAliveConnection http = new KeepAliveConnection(address)) {
                                    for (int from = nextBatch.getAndIncrement() * BATCH;
                                            from < tasks;
                                            from = nextBatch.getAndIncrement() * BATCH) {
                                        String body =
                                                batchBody(
                                                        from,
                                                        Math.min(BATCH, tasks - from),
                                                        callbackUrl);
                                        KeepAliveConnection.Answer a =
                                                http.send(
                                                        KeepAliveConnection.request(
                                                                "POST",
                                                                host,
                                                                "/v1/tasks/batch",
                                                                headers,
                                                                body));
                                        if (a.status() != 200) {
                                            throw new IllegalStateException(
                                                    "batch refused: " + a.status());
                                        }
                                    }
                                } finally {
                                    generatorNanos.addAndGet(
                                            threads.getCurrentThreadCpuTime() - cpuStart);
                                }
                                return null;
                            }));
        }
        try {
            for (Future<?> f : sent) {
                f.get();
            }
        } finally {
            senders.shutdown();
        }
        return generatorNanos.get();
    }

    private String batchBody(int from, int size, String callbackUrl) {
        StringBuilder body = new StringBuilder("{\"tasks\": [");
        for (int i = from; i < from + size; i++) {
            body.append(i == from ? "" : ",").append(spread.item(i, callbackUrl));
        }
        return body.append("]}").toString();
    }

    /**
     * The loopback receiver of the callbacks, with its handler threads, whose CPU the bench tells
     * apart.
     */
    private record Receiver(HttpServer server, ExecutorService pool, List<Thread> handlers) {

        static Receiver start() throws IOException {
            HttpServer server =
                    HttpServer.create(
                            new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 128);
            server.createContext(
                    "/",
                    exchange -> {
                        exchange.getRequestBody().readAllBytes();
                        exchange.sendResponseHeaders(204, -1);
                        exchange.close();
                    });
            List<Thread> handlers = new CopyOnWriteArrayList<>();
            // Not the bottleneck: up to the dispatcher's concurrency.
            ExecutorService pool =
                    Executors.newFixedThreadPool(
                            32,
                            r -> {
                                Thread handler = new Thread(r, "bench-receiver");
                                handlers.add(handler);
                                return handler;
                            });
            server.setExecutor(pool);
            server.start();
            return new Receiver(server, pool, handlers);
        }

        void stop() {
            server.stop(0);
            pool.shutdown();
        }

        long handlerCpuNanos() {
            ThreadMXBean threads = ManagementFactory.getThreadMXBean();
            return handlers.stream()
                    .mapToLong(t -> Math.max(0, threads.getThreadCpuTime(t.getId())))
                    .sum();
        }
    }
}
