package dev.pulse.server.executors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.container.ContainerExecutor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The container executor through the whole path, on a real Docker-API engine (rootful podman
 * started by scripts/container-engine.sh, which .ci/run calls) with the busybox image it builds.
 */
class ContainerPathTest {

    private static final String IMAGE = "localhost/pulse-test-busybox:1";
    private static WholePath path;

    /** Why the engine cannot be used, or null when it can. */
    private static String skipReason;

    @BeforeAll
    static void start() throws Exception {
        try (ContainerExecutor probe = new ContainerExecutor(new ObjectMapper(), System::getenv)) {
            var availability = probe.availability();
            if (!availability.available()) {
                skipReason =
                        "!!! SKIPPED: no Docker-API engine ("
                                + availability.reason()
                                + "); run eval \"$(scripts/container-engine.sh)\" as .ci/run does";
                System.err.println(skipReason);
                return;
            }
        }
        // A test node reads only the environment it is given: pass on where the engine is.
        path =
                new WholePath(
                        System.getenv("DOCKER_HOST") == null
                                ? Map.of()
                                : Map.of("DOCKER_HOST", System.getenv("DOCKER_HOST")));
        agent("box-ok", IMAGE, "[\"sh\", \"-c\", \"echo working >&2; cat\"]", "30s");
        agent(
                "box-oom",
                IMAGE,
                "[\"sh\", \"-c\", \"a=$(head -c 300000000 /dev/zero | tr '\\\\000' x); echo '{}'\"]",
                "60s");
        agent("box-garbled", IMAGE, "[\"sh\", \"-c\", \"echo no json here\"]", "30s");
        agent("box-slow", IMAGE, "[\"sleep\", \"60\"]", "2s");
        agent("box-missing", "localhost/pulse-no-such-image:0", "[\"true\"]", "30s");
    }

    /**
     * Skipped per test, so that Maven counts and reports it as skipped, with the reason, instead of
     * "Tests run: 0".
     */
    @BeforeEach
    void engineAvailable() {
        assumeTrue(skipReason == null, skipReason);
    }

    @AfterAll
    static void stop() {
        if (path != null) {
            path.close();
        }
    }

    @Test
    void eachOutcomeIsStoredAndCalledBack() throws Exception {
        String ok = path.enqueue("box-ok", "{\"hello\": \"box\"}");
        String oom = path.enqueue("box-oom", "{}");
        String garbled = path.enqueue("box-garbled", "{}");
        String slow = path.enqueue("box-slow", "{}");
        String missing = path.enqueue("box-missing", "{}");
        Map<String, WholePath.Ended> ended =
                path.awaitAll(List.of(ok, oom, garbled, slow, missing));

        assertThat(ended.get(ok).state()).as("%s", ended.get(ok).task()).isEqualTo("succeeded");
        assertThat(ended.get(ok).callback().path("data").path("result").path("hello").asText())
                .isEqualTo("box");
        assertThat(ended.get(ok).logs()).contains("working");

        assertThat(ended.get(oom).errorMessage())
                .as("a 300 MB string in a 64 MB container")
                .contains("137");
        assertThat(ended.get(garbled).errorCode()).isEqualTo("invalid_output");
        assertThat(ended.get(slow).errorCode()).isEqualTo("timeout");
        assertThat(ended.get(missing).errorMessage()).contains("pulse-no-such-image");
        WholePath.assertFailedAndCalledBack(ended, List.of(oom, garbled, slow, missing));
    }

    private static void agent(String name, String image, String command, String timeout) {
        path.agent(
                name,
                "{\"executor\": \"container\", \"timeout\": \""
                        + timeout
                        + "\", \"container\": {\"image\": \""
                        + image
                        + "\", \"command\": "
                        + command
                        + ", \"memory\": \"64m\", \"cpus\": 0.5, \"pids\": 64, \"network\": false}}");
    }
}
