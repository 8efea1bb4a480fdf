package dev.pulse.server.executors;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The local process executor, an in-JVM agent and {@code executor: auto} through the whole path.
 */
class LocalPathTest {

    private static WholePath path;

    @BeforeAll
    static void start() {
        path = new WholePath(Map.of());
        agent("proc-ok", "[\"sh\", \"-c\", \"echo reading >&2; cat\"]");
        agent("proc-exit", "[\"sh\", \"-c\", \"echo something broke >&2; exit 3\"]");
        agent("proc-garbled", "[\"sh\", \"-c\", \"echo not json\"]");
        agent("proc-slow", "[\"sh\", \"-c\", \"sleep 30\"]");
        agent("proc-missing", "[\"/nonexistent/agent-binary\"]");
        path.agent("proc-auto", "{\"executor\": \"auto\", \"local\": {\"command\": [\"cat\"]}}");
    }

    @AfterAll
    static void stop() {
        path.close();
    }

    @Test
    void eachOutcomeIsStoredAndCalledBack() throws Exception {
        String ok = path.enqueue("proc-ok", "{\"n\": 1}");
        String inJvm = path.enqueue("echo", "{\"n\": 2}");
        String exit = path.enqueue("proc-exit", "{}");
        String garbled = path.enqueue("proc-garbled", "{}");
        String slow = path.enqueue("proc-slow", "{}");
        String missing = path.enqueue("proc-missing", "{}");
        String auto = path.enqueue("proc-auto", "{\"n\": 3}");
        Map<String, WholePath.Ended> ended =
                path.awaitAll(List.of(ok, inJvm, exit, garbled, slow, missing, auto));

        assertThat(ended.get(ok).state()).isEqualTo("succeeded");
        assertThat(ended.get(ok).task().path("result").path("n").asInt()).isEqualTo(1);
        assertThat(ended.get(ok).logs()).contains("reading");
        assertThat(ended.get(ok).callback().path("type").asText()).isEqualTo("task.succeeded");
        assertThat(ended.get(inJvm).callback().path("data").path("result").path("n").asInt())
                .isEqualTo(2);
        assertThat(ended.get(auto).task().path("result").path("n").asInt()).isEqualTo(3);
        assertThat(ended.get(auto).logs())
                .as("the attempt says why auto chose local")
                .startsWith(
                        "executor auto chose local (passed over serverless: spec.serverless: is required");

        assertThat(ended.get(exit).errorCode()).isEqualTo("agent_error");
        assertThat(ended.get(exit).errorMessage()).contains("3");
        assertThat(ended.get(exit).logs()).contains("something broke");
        assertThat(ended.get(garbled).errorCode()).isEqualTo("invalid_output");
        assertThat(ended.get(slow).errorCode()).isEqualTo("timeout");
        assertThat(ended.get(missing).state()).isEqualTo("failed");
        assertThat(ended.get(missing).errorMessage()).contains("/nonexistent/agent-binary");
        WholePath.assertFailedAndCalledBack(ended, List.of(exit, garbled, slow, missing));
    }

    private static void agent(String name, String command) {
        path.agent(
                name,
                "{\"executor\": \"local\", \"timeout\": \"2s\", \"local\": {\"command\": "
                        + command
                        + "}}");
    }
}
