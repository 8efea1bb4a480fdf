package dev.pulse.server.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code pulse}: the one executable. Each subcommand is its own class. */
@Command(
        name = "pulse",
        mixinStandardHelpOptions = true,
        version = "pulse 0.1.0",
        description = "Runs AI agents on demand and on schedules, durably, on PostgreSQL.",
        subcommands = {
            ServeCommand.class,
            MigrateCommand.class,
            KeysCommand.class,
            SchedulesCommand.class,
            BenchCommand.class,
            ConfigCommand.class,
            AgentsCommand.class
        })
public final class PulseCli implements Runnable {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(new CommandLine(new PulseCli()).execute(args));
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }
}
