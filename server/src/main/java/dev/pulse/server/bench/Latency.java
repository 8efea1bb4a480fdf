package dev.pulse.server.bench;

import dev.pulse.workers.tasks.TaskFigures;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Arrays;
import java.util.UUID;

/**
 * Sequential single tasks over HTTP on an idle node: the time from enqueue to start, measured by
 * the database's own clock ({@code started_at - created_at} of each task).
 */
final class Latency {

    private final BenchNode bench;
    private final PrintStream out;

    Latency(BenchNode bench, PrintStream out) {
        this.bench = bench;
        this.out = out;
    }

    void run(int samples) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        double[] ms = new double[samples];
        long lastReport = System.nanoTime();
        for (int i = 0; i < samples; i++) {
            HttpResponse<String> r =
                    http.send(
                            HttpRequest.newBuilder(URI.create(bench.url("/v1/tasks")))
                                    .header("Authorization", "Bearer " + bench.key)
                                    .header("Content-Type", "application/json")
                                    .POST(
                                            HttpRequest.BodyPublishers.ofString(
                                                    "{\"agent\": \"echo\"}"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            UUID id =
                    UUID.fromString(
                            r.body()
                                    .substring(
                                            r.body().indexOf("\"id\":\"") + 6,
                                            r.body().indexOf("\"id\":\"") + 42));
            Double delay;
            // One connection for all the polling: a new connection per poll (a backend process
            // each)
            // loaded the very machine whose latency is measured.
            while ((delay = bench.query(h -> TaskFigures.startDelayMillis(h, id)).orElse(null))
                    == null) {
                Thread.sleep(0, 200_000);
            }
            ms[i] = delay;
            if (System.nanoTime() - lastReport >= 2_000_000_000L) {
                out.printf("  %d of %d samples%n", i + 1, samples);
                lastReport = System.nanoTime();
            }
            Thread.sleep(
                    5); // idle between samples: this measures an idle node's wake-up, not a backlog
        }
        Arrays.sort(ms);
        out.printf(
                "latency: p50=%.1f p95=%.1f p99=%.1f max=%.1f ms%n",
                pct(ms, 50), pct(ms, 95), pct(ms, 99), ms[ms.length - 1]);
    }

    private static double pct(double[] sorted, int p) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p / 100.0 * sorted.length) - 1)];
    }
}
