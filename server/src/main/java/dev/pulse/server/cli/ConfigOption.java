package dev.pulse.server.cli;

import dev.pulse.server.config.ConfigLoader;
import dev.pulse.server.config.PulseConfig;
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
