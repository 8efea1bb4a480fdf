package dev.pulse.server.cli;

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
        return config.onDatabase(
                database -> {
                    System.out.println("database schema is up to date");
                    return 0;
                });
    }
}
