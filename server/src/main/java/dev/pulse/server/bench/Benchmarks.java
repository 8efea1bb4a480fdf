package dev.pulse.server.bench;

import java.io.PrintStream;

/** Entry points of {@code pulse bench}. */
public final class Benchmarks {

    private Benchmarks() {
    }

    public static int burnDown(String databaseUrl, int tasks, boolean callbacks, PrintStream out) throws Exception {
        try (BenchNode bench = new BenchNode(databaseUrl)) {
            new BurnDown(bench, out).run(tasks, callbacks);
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
