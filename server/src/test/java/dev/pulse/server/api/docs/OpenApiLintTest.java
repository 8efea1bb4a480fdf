package dev.pulse.server.api.docs;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Redocly's linter (its recommended rules) finds no error in {@code openapi.yaml}. It runs through
 * {@code npx}, which fetches the pinned version from the npm registry once; without Node.js the
 * test is skipped, loudly, saying how to enable it.
 */
class OpenApiLintTest {

    static final String REDOCLY = "@redocly/cli@2.77.0";
    private static final Path DOCUMENT = Path.of("src", "main", "resources", "openapi.yaml");

    @Test
    void redoclyLintFindsNoError() throws Exception {
        if (!onPath("npx")) {
            String why =
                    "SKIPPED: npx (Node.js) is not on the PATH, so openapi.yaml was NOT linted with Redocly. "
                            + "Install Node.js 20+ (Debian: apt-get install nodejs npm) or run by hand: npx --yes "
                            + REDOCLY
                            + " lint server/"
                            + DOCUMENT.toString().replace(File.separatorChar, '/');
            System.err.println("!!! " + why);
            Assumptions.abort(why);
        }
        Process lint =
                new ProcessBuilder(
                                "npx",
                                "--yes",
                                REDOCLY,
                                "lint",
                                "--format=stylish",
                                DOCUMENT.toString())
                        .redirectErrorStream(true)
                        .start();
        lint.getOutputStream().close();
        String output = new String(lint.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(lint.waitFor(5, TimeUnit.MINUTES)).as("redocly finished").isTrue();
        assertThat(lint.exitValue())
                .as("redocly lint exit status; its output:\n" + output)
                .isZero();
        assertThat(output).contains("openapi.yaml").doesNotContain("error");
    }

    private static boolean onPath(String command) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (Path.of(dir, command).toFile().canExecute()) {
                return true;
            }
        }
        return false;
    }
}
