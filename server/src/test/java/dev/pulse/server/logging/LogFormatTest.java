package dev.pulse.server.logging;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The shipped logback.xml, in a child JVM (logback reads PULSE_LOG_FORMAT once, at start): readable
 * lines by default, JSON lines with PULSE_LOG_FORMAT=json, on stderr either way, and the task id on
 * every line about a task.
 */
class LogFormatTest {

    private static final String TASK_ID = "0193a7c2-0000-7000-8000-000000000001";

    /** What the child JVM logs. */
    public static final class Emit {
        public static void main(String[] args) {
            Logger log = LoggerFactory.getLogger("dev.pulse.workers.queue.TaskRunner");
            log.info("node started");
            MDC.put("task_id", TASK_ID);
            log.info("attempt {} of task finished: {}", 1, "succeeded");
            log.warn("attempt failed", new IllegalStateException("agent exited with 3"));
            MDC.remove("task_id");
        }
    }

    @Test
    void textIsTheDefaultWithTheTaskIdOnTaskLines() throws Exception {
        Output out = run(null);
        assertThat(out.stdout).isEmpty();
        assertThat(out.stderr).hasSizeGreaterThanOrEqualTo(3);
        assertThat(out.stderr.get(0)).contains("INFO", "node started").doesNotContain("task_id");
        assertThat(out.stderr.get(1))
                .contains("task_id=" + TASK_ID, "attempt 1 of task finished: succeeded");
        assertThat(out.stderr.get(2)).contains("WARN", "task_id=" + TASK_ID, "attempt failed");
        assertThat(String.join("\n", out.stderr))
                .contains("IllegalStateException: agent exited with 3");
    }

    @Test
    void jsonGivesOneObjectPerLineWithTheTaskIdInTheMdc() throws Exception {
        Output out = run("json");
        assertThat(out.stdout).isEmpty();
        ObjectMapper mapper = new ObjectMapper();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : out.stderr) {
            lines.add(mapper.readTree(line)); // every line is a JSON object
        }
        assertThat(lines).hasSize(3);
        assertThat(lines.get(0).path("level").asText()).isEqualTo("INFO");
        assertThat(lines.get(0).path("formattedMessage").asText()).isEqualTo("node started");
        assertThat(lines.get(0).path("mdc").path("task_id").isMissingNode()).isTrue();

        JsonNode finished = lines.get(1);
        assertThat(finished.path("formattedMessage").asText())
                .isEqualTo("attempt 1 of task finished: succeeded");
        assertThat(finished.path("mdc").path("task_id").asText()).isEqualTo(TASK_ID);
        assertThat(finished.path("loggerName").asText())
                .isEqualTo("dev.pulse.workers.queue.TaskRunner");
        assertThat(finished.path("timestamp").asLong()).isPositive();

        JsonNode failed = lines.get(2);
        assertThat(failed.path("level").asText()).isEqualTo("WARN");
        assertThat(failed.path("mdc").path("task_id").asText()).isEqualTo(TASK_ID);
        assertThat(failed.path("throwable").toString())
                .contains("IllegalStateException", "agent exited with 3");
    }

    private record Output(List<String> stdout, List<String> stderr) {}

    private static Output run(String format) throws IOException, InterruptedException {
        ProcessBuilder builder =
                new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-cp",
                        System.getProperty("java.class.path"),
                        Emit.class.getName());
        builder.environment().remove("PULSE_LOG_FORMAT");
        if (format != null) {
            builder.environment().put("PULSE_LOG_FORMAT", format);
        }
        Process process = builder.start();
        process.getOutputStream().close();
        byte[] stdout = process.getInputStream().readAllBytes();
        byte[] stderr = process.getErrorStream().readAllBytes();
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(new String(stderr, StandardCharsets.UTF_8)).isZero();
        return new Output(lines(stdout), lines(stderr));
    }

    private static List<String> lines(byte[] bytes) {
        String text = new String(bytes, StandardCharsets.UTF_8);
        return text.isEmpty() ? List.of() : List.of(text.split("\n"));
    }
}
