package dev.pulse.server.bench;

import com.sun.net.httpserver.HttpServer;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Enqueues N no-op ({@code echo}) tasks through the batch API, then times until every one has
 * succeeded (and, with callbacks, until every callback reached a loopback receiver).
 */
final class BurnDown {

    static final int BATCH = 1000;
    private final BenchNode bench;
    private final PrintStream out;

    BurnDown(BenchNode bench, PrintStream out) {
        this.bench = bench;
        this.out = out;
    }

    void run(int tasks, boolean callbacks) throws Exception {
        HttpServer receiver = callbacks ? receiver() : null;
        String callbackUrl = callbacks ? "http://127.0.0.1:" + receiver.getAddress().getPort() + "/bench" : null;
        try {
            long start = System.nanoTime();
            enqueue(tasks, callbackUrl);
            double enqueueSeconds = (System.nanoTime() - start) / 1e9;
            out.printf("enqueue: %d tasks in %.2f s = %.0f tasks/s%n", tasks, enqueueSeconds, tasks / enqueueSeconds);
            String doneQuery = callbacks
                    ? "SELECT count(*) FROM callback_deliveries WHERE state = 'delivered'"
                    : "SELECT count(*) FROM tasks WHERE state = 'succeeded'";
            long lastReport = System.nanoTime();
            long lastDone = 0;
            long done;
            while ((done = bench.count(doneQuery)) < tasks) {
                if (System.nanoTime() - lastReport >= 2_000_000_000L) {
                    double window = (System.nanoTime() - lastReport) / 1e9;
                    out.printf("  %5.1f s: %d of %d done, %.0f tasks/s%n", (System.nanoTime() - start) / 1e9, done, tasks,
                            (done - lastDone) / window);
                    lastReport = System.nanoTime();
                    lastDone = done;
                }
                Thread.sleep(50);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            out.printf("burn-down: %d tasks in %.2f s = %.0f tasks/s%n", tasks, seconds, tasks / seconds);
        } finally {
            if (receiver != null) {
                receiver.stop(0);
            }
        }
    }

    private void enqueue(int tasks, String callbackUrl) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        String item = callbackUrl == null ? "{\"agent\": \"echo\"}" : "{\"agent\": \"echo\", \"callback_url\": \"" + callbackUrl + "\"}";
        ExecutorService senders = Executors.newFixedThreadPool(4);
        List<Future<?>> sent = new ArrayList<>();
        for (int from = 0; from < tasks; from += BATCH) {
            int size = Math.min(BATCH, tasks - from);
            String body = "{\"tasks\": [" + String.join(",", java.util.Collections.nCopies(size, item)) + "]}";
            sent.add(senders.submit(() -> {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(bench.url("/v1/tasks/batch")))
                        .header("Authorization", "Bearer " + bench.key).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200) {
                    throw new IllegalStateException("batch refused: " + r.statusCode() + " " + r.body());
                }
                return null;
            }));
        }
        for (Future<?> f : sent) {
            f.get();
        }
        senders.shutdown();
    }

    private static HttpServer receiver() throws java.io.IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 128);
        server.createContext("/", exchange -> {
            exchange.getRequestBody().readAllBytes();
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        server.setExecutor(Executors.newFixedThreadPool(8));
        server.start();
        return server;
    }
}
