package dev.pulse.server.cli;

import dev.pulse.server.config.ConfigLoader;
import dev.pulse.server.config.PulseConfig;
import dev.pulse.workers.config.ConfigException;
import dev.pulse.workers.db.Database;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Function;
import picocli.CommandLine.Option;

/** {@code --config FILE}, shared by every command that reads the configuration. */
final class ConfigOption {

    static final Path DEFAULT_FILE = Path.of("pulse.yaml");

    @Option(
            names = {"-c", "--config"},
            paramLabel = "FILE",
            description =
                    "YAML configuration file (default: $PULSE_CONFIG, else ./pulse.yaml if it exists). "
                            + "PULSE_* environment variables override it.")
    Path file;

    /**
     * The configuration, or null after telling the user on stderr what is wrong with it (the
     * command then exits with status 2).
     */
    PulseConfig loadOrReport() {
        try {
            return load();
        } catch (ConfigException e) {
            System.err.println("pulse: " + e.getMessage());
            return null;
        }
    }

    /**
     * Runs {@code work} on the configuration's database ({@link DatabaseTarget}); exit status 2
     * when the configuration can't be read.
     */
    int onDatabase(Function<Database, Integer> work) throws IOException {
        PulseConfig cfg = loadOrReport();
        return cfg == null ? 2 : DatabaseTarget.with(cfg, work);
    }

    PulseConfig load() {
        return load(System::getenv);
    }

    PulseConfig load(Function<String, String> environment) {
        return new ConfigLoader(environment).load(chosenFile(environment));
    }

    /**
     * The file that is read: --config, else $PULSE_CONFIG, else ./pulse.yaml if it exists; null for
     * none.
     */
    Path chosenFile(Function<String, String> environment) {
        if (file != null) {
            return file;
        }
        if (environment.apply("PULSE_CONFIG") != null) {
            return Path.of(environment.apply("PULSE_CONFIG"));
        }
        return Files.exists(DEFAULT_FILE) ? DEFAULT_FILE : null;
    }
}
