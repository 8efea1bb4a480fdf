package dev.pulse.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands a secret Pulse generated on first start to the operator: written once to a file in the data
 * directory that only its owner can read, never to the log, which is shipped and kept where secrets
 * must not be.
 */
final class GeneratedSecrets {

    private static final Logger log = LoggerFactory.getLogger(GeneratedSecrets.class);

    private final Path dir;

    GeneratedSecrets(Path dir) {
        this.dir = dir;
    }

    /**
     * Writes {@code value} to {@code dir/fileName}; says where in the log, or what to do if it
     * can't.
     */
    void reveal(String fileName, String value, String what, String ifLost) {
        Path file = dir.resolve(fileName);
        try {
            Files.createDirectories(dir);
            Files.deleteIfExists(file);
            Files.createFile(
                    file,
                    PosixFilePermissions.asFileAttribute(
                            PosixFilePermissions.fromString("rw-------")));
            Files.writeString(
                    file,
                    value + "\n",
                    StandardCharsets.UTF_8,
                    StandardOpenOption.TRUNCATE_EXISTING);
            log.warn(
                    "Generated {}: written to {} (readable only by this user); {}",
                    what,
                    file.toAbsolutePath().normalize(),
                    "move it somewhere safe and delete the file");
        } catch (IOException | UnsupportedOperationException e) {
            log.error(
                    "Generated {} but could not write it to {} ({}); {}",
                    what,
                    file,
                    e.getMessage(),
                    ifLost);
        }
    }
}
