package dev.pulse.server.cli;

import dev.pulse.server.PulseNode;
import dev.pulse.server.config.PulseConfig;
import dev.pulse.workers.config.ConfigException;
import java.time.Clock;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description =
                "Start a Pulse node: API, worker and callback dispatcher. Uses an embedded PostgreSQL "
                        + "under ./pulse-data unless PULSE_DATABASE_URL is set.")
final class ServeCommand implements Callable<Integer> {

    private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

    @Mixin ConfigOption config;

    @Override
    public Integer call() throws InterruptedException {
        PulseConfig cfg;
        PulseNode node;
        try {
            cfg = config.load();
            node = PulseNode.start(cfg, Clock.systemUTC(), System::getenv);
        } catch (ConfigException e) {
            System.err.println("pulse: " + e.getMessage());
            return 2;
        } catch (RuntimeException e) {
            log.error("Pulse could not start: {}", e.getMessage(), e);
            return 1;
        }
        // SIGTERM and SIGINT start a graceful shutdown that ends with exit status 0, so process
        // supervisors see a clean stop; anything else that ends the JVM still closes the node.
        CountDownLatch stopRequested = new CountDownLatch(1);
        Thread fallback = new Thread(node::close, "pulse-shutdown");
        Runtime.getRuntime().addShutdownHook(fallback);
        for (String name : new String[] {"TERM", "INT"}) {
            sun.misc.Signal.handle(new sun.misc.Signal(name), signal -> stopRequested.countDown());
        }
        stopRequested.await();
        log.info(
                "shutting down: no new claims; running attempts get up to {} to finish",
                cfg.shutdownGrace());
        node.close();
        Runtime.getRuntime().removeShutdownHook(fallback);
        log.info("stopped");
        return 0;
    }
}
