package dev.pulse.server.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code -f FILE|DIR}, shared by the commands that apply YAML documents. */
final class FilesOption {

    @Option(
            names = {"-f", "--file"},
            required = true,
            paramLabel = "FILE|DIR",
            description = "a YAML file, or a directory of YAML files")
    Path path;
}
