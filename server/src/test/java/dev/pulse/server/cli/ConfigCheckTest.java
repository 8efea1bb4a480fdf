package dev.pulse.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.server.TestNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code pulse config check}: the configuration, agent files and schedule files, never the
 * database.
 */
class ConfigCheckTest {

    @TempDir Path dir;

    private final Map<String, String> env = new HashMap<>();

    @Test
    void aValidConfigurationPrintsOkAndASummaryWithoutReachingTheDatabase() throws IOException {
        Path schedules = Files.createDirectories(dir.resolve("schedules"));
        Files.writeString(
                schedules.resolve("nightly.yaml"),
                """
                apiVersion: pulse/v1
                kind: Schedule
                metadata: {name: nightly}
                spec: {cron: "30 2 * * *", agent: word-count}
                """);
        // Nothing listens on port 1: a check that connected would fail.
        Path file =
                Files.writeString(
                        dir.resolve("pulse.yaml"),
                        """
                database: {url: "postgres://pulse:s3cret-pw@127.0.0.1:1/pulse"}
                agents: {dir: %s}
                schedules: {dir: %s}
                """
                                .formatted(TestNode.SHIPPED_AGENTS.toAbsolutePath(), schedules));
        env.put("PULSE_HTTP_PORT", "9090");

        Result result = check("--config", file.toString());

        assertThat(result.exit).as(result.err).isZero();
        assertThat(result.err).isEmpty();
        assertThat(result.out)
                .startsWith("configuration OK")
                .contains("file:           " + file)
                .contains("127.0.0.1:1/pulse")
                .contains("http:           0.0.0.0:9090")
                .contains("roles:          api, worker, scheduler")
                .contains("agents:         3 [echo, sleep, word-count]")
                .contains("schedules:      1 in " + schedules)
                .contains("tracing:        off")
                .doesNotContain("s3cret-pw");
    }

    @Test
    void everyConfigurationProblemIsPrintedOnStderrWithExitStatus2() throws IOException {
        Path file = Files.writeString(dir.resolve("pulse.yaml"), "worker: {concurency: 4}\n");
        env.put("PULSE_HTTP_PORT", "eighty");
        env.put("PULSE_LOG_FORMAT", "xml");

        Result result = check("-c", file.toString());

        assertThat(result.exit).isEqualTo(2);
        assertThat(result.out).isEmpty();
        assertThat(result.err)
                .contains(
                        "3 problems",
                        "worker.concurency: unknown key",
                        "http.port (PULSE_HTTP_PORT)",
                        "PULSE_LOG_FORMAT: must be text or json");
    }

    @Test
    void brokenAgentFilesAreReportedWithTheirFileAndField() throws IOException {
        Path agents = Files.createDirectories(dir.resolve("agents"));
        Files.writeString(
                agents.resolve("broken.yaml"),
                """
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: broken}
                spec:
                  executor: local
                  local: {command: []}
                """);
        env.put("PULSE_AGENTS_DIR", agents.toString());
        env.put("PULSE_SCHEDULES_DIR", dir.resolve("none").toString());

        Result result = check();

        assertThat(result.exit).isEqualTo(2);
        assertThat(result.out).isEmpty();
        assertThat(result.err).contains("broken.yaml", "spec.local.command");
    }

    @Test
    void scheduleFilesAreCheckedAgainstTheAgents() throws IOException {
        Path schedules = Files.createDirectories(dir.resolve("schedules"));
        Files.writeString(
                schedules.resolve("bad.yaml"),
                """
                apiVersion: pulse/v1
                kind: Schedule
                metadata: {name: bad}
                spec: {cron: "61 * * * *", agent: no-such-agent}
                """);
        env.put("PULSE_AGENTS_DIR", TestNode.SHIPPED_AGENTS.toString());
        env.put("PULSE_SCHEDULES_DIR", schedules.toString());

        Result result = check();

        assertThat(result.exit).isEqualTo(2);
        assertThat(result.err)
                .contains(
                        "bad.yaml: spec.cron",
                        "bad.yaml: spec.agent: unknown agent 'no-such-agent'");
    }

    private record Result(int exit, String out, String err) {}

    private Result check(String... options) {
        CommandLine cli = new CommandLine(new PulseCli());
        CommandLine check = cli.getSubcommands().get("config").getSubcommands().get("check");
        ((ConfigCommand.Check) check.getCommand()).environment = env::get;
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        String[] args = new String[options.length + 2];
        args[0] = "config";
        args[1] = "check";
        System.arraycopy(options, 0, args, 2, options.length);
        int exit = cli.execute(args);
        return new Result(exit, out.toString(), err.toString());
    }
}
