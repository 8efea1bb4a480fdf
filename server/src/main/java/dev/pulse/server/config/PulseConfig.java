package dev.pulse.server.config;

import dev.pulse.executors.http.EgressPolicy;
import dev.pulse.workers.budgets.Prices;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.Set;

/**
 * Everything a node is configured with. Built by {@link ConfigLoader} from defaults, an optional
 * YAML file and {@code PULSE_*} environment variables, in that order of precedence (last wins). The
 * keys and their defaults are listed in docs/configuration.md.
 */
public record PulseConfig(
        String httpHost,
        int httpPort,
        URI publicUrl,
        String databaseUrl,
        int databasePoolSize,
        Path dataDir,
        String webhookSecret,
        int workerConcurrency,
        Duration workerPollInterval,
        Duration leaseDuration,
        boolean notifyWakeUps,
        Duration shutdownGrace,
        Duration retention,
        int callbackConcurrency,
        int callbackPerDestination,
        int callbackMaxAttempts,
        Duration callbackTimeout,
        Path agentsDir,
        Path pluginsDir,
        Path schedulesDir,
        String adminKey,
        EgressPolicy egress,
        Set<Role> roles,
        int rateLimit,
        TracingConfig tracing,
        DatabaseTopology databaseTopology,
        ZoneId budgetZone,
        Prices llmPrices,
        URI alertUrl) {

    public boolean runs(Role role) {
        return roles.contains(role);
    }

    public boolean usesEmbeddedDatabase() {
        return databaseUrl == null;
    }

    @Override
    public String toString() {
        return "PulseConfig[http="
                + httpHost
                + ":"
                + httpPort
                + ", database="
                + (databaseUrl == null ? "embedded in " + dataDir : "external")
                + ", webhookSecret="
                + (webhookSecret == null ? "generated" : "configured")
                + ", adminKey="
                + (adminKey == null ? "none" : "configured")
                + ", workerConcurrency="
                + workerConcurrency
                + ", agentsDir="
                + agentsDir
                + ", tracing="
                + tracing
                + "]";
    }
}
