package dev.pulse.server.clients;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.pulse.server.TestNode;
import dev.pulse.workers.keys.ApiKeyStore;
import dev.pulse.workers.keys.Scope;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Runs the Python client's own tests ({@code clients/python/test_pulse_client.py}, unittest)
 * against a real node: queueing and waiting, a Worker running a remote agent's tasks (results,
 * exceptions, heartbeats, cancellation), webhook verification, and three worker processes draining
 * 1,000 tasks while one is killed with {@code kill -9}. Fails when they fail; skipped, saying why,
 * without {@code python3} (3.9 or newer).
 */
class PythonClientTest {

    private static final Path CLIENT = Path.of("..", "clients", "python");

    @Test
    void thePythonClientsTestsPassAgainstARealNode() throws Exception {
        String version = pythonVersion();
        assumeTrue(
                version != null,
                "SKIPPED LOUDLY: python3 is not on PATH, so the Python client's tests"
                        + " (clients/python/test_pulse_client.py) did not run; install python3 >= 3.9");
        try (TestNode pulse = new TestNode()) {
            String workKey =
                    new ApiKeyStore(pulse.jdbi, new SecureRandom())
                            .create("python-client-tests", EnumSet.of(Scope.TASKS_WORK));
            Path log = Files.createTempFile("pulse-python-client-tests", ".log");
            ProcessBuilder tests =
                    new ProcessBuilder("python3", "-m", "unittest", "-v", "test_pulse_client")
                            .directory(CLIENT.toFile())
                            .redirectErrorStream(true)
                            .redirectOutput(log.toFile());
            tests.environment().put("PULSE_URL", pulse.url(""));
            tests.environment().put("PULSE_KEY", TestNode.ADMIN_KEY);
            tests.environment().put("PULSE_WORK_KEY", workKey);
            tests.environment().put("PULSE_WEBHOOK_SECRET", TestNode.WEBHOOK_SECRET);
            tests.environment().put("PYTHONUNBUFFERED", "1");
            Process process = tests.start();
            boolean ended = process.waitFor(15, TimeUnit.MINUTES);
            if (!ended) {
                process.destroyForcibly().waitFor();
            }
            String output = Files.readString(log, StandardCharsets.UTF_8);
            Files.deleteIfExists(log);
            System.out.println("python3 " + version + ", clients/python tests:\n" + output);
            assertThat(ended).as("the Python tests ended within 15 minutes:\n" + output).isTrue();
            assertThat(process.exitValue())
                    .as("python3 -m unittest test_pulse_client exit status:\n" + output)
                    .isZero();
            assertThat(output).as("no test of the client was skipped").doesNotContain("skipped");
        }
    }

    /** "3.11.7", or null when python3 is missing or older than 3.9. */
    private static String pythonVersion() throws InterruptedException {
        try {
            Process p =
                    new ProcessBuilder(
                                    List.of(
                                            "python3",
                                            "-c",
                                            "import sys; print('%d.%d.%d' % sys.version_info[:3]"
                                                    + " if sys.version_info >= (3, 9) else '')"))
                            .redirectErrorStream(true)
                            .start();
            String out =
                    new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return p.waitFor() == 0 && !out.isEmpty() ? out : null;
        } catch (IOException e) {
            return null;
        }
    }
}
