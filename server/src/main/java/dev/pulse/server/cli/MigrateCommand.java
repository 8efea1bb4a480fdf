package dev.pulse.server.cli;

import dev.pulse.server.config.PulseConfig;
import dev.pulse.workers.config.ConfigException;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(
        name = "migrate",
        mixinStandardHelpOptions = true,
        description =
                "Apply pending database migrations and exit (pulse serve also applies them on start).")
final class MigrateCommand implements Callable<Integer> {

    @Mixin ConfigOption config;

    @Override
    public Integer call() throws Exception {
        PulseConfig cfg;
        try {
            cfg = config.load();
        } catch (ConfigException e) {
            System.err.println("pulse: " + e.getMessage());
            return 2;
        }
        return DatabaseTarget.with(
                cfg,
                database -> {
                    System.out.println("database schema is up to date");
                    return 0;
                });
    }
}
