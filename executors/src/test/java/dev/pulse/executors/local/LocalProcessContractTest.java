package dev.pulse.executors.local;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.Executor;
import dev.pulse.executors.ExecutorContract;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.LocalSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.io.TempDir;

/** The local executor running agents as subprocesses (sh scripts) through the executor contract. */
class LocalProcessContractTest extends ExecutorContract
        implements ExecutorContract.ReadsTextOutput, ExecutorContract.ResolvesSecrets {

    @TempDir Path dir;

    @Override
    protected Fixture start(Function<String, String> environment) {
        LocalExecutor executor = new LocalExecutor(JavaAgents.discover(), JSON, environment);
        return new Fixture() {
            @Override
            public Executor executor() {
                return executor;
            }

            @Override
            public Success succeeding(JsonNode output) throws Exception {
                return new Success(request(script("cat", Map.of()), output, AMPLE), output);
            }

            @Override
            public ExecutionRequest failing(String words) throws Exception {
                return request(
                        script("echo '" + words + "' >&2; exit 3", Map.of()),
                        JSON.createObjectNode(),
                        AMPLE);
            }

            @Override
            public ExecutionRequest malformed() throws Exception {
                return request(
                        script("echo 'done, no JSON from me'", Map.of()),
                        JSON.createObjectNode(),
                        AMPLE);
            }

            @Override
            public Hanging hanging(Duration timeout) throws Exception {
                Path pid = Files.createTempFile(dir, "agent", ".pid");
                Files.delete(pid);
                AgentDefinition agent =
                        script(
                                "echo $$ > "
                                        + pid
                                        + ".tmp && mv "
                                        + pid
                                        + ".tmp "
                                        + pid
                                        + "; exec sleep "
                                        + HANGS_FOR.toSeconds(),
                                Map.of());
                return new Hanging(
                        request(agent, JSON.createObjectNode(), timeout),
                        new PidFileProbe(pid, agent.local().command()));
            }

            @Override
            public ExecutionRequest leakingSecret() throws Exception {
                return request(
                        script(
                                "echo \"login failed with token $TOKEN\" >&2; exit 1",
                                Map.of("TOKEN", "${env:" + SECRET_VARIABLE + "}")),
                        JSON.createObjectNode(),
                        AMPLE);
            }

            /**
             * Was LocalExecutorTest#aCommandThatDoesNotExistSaysSo: the same attempt, the same
             * assertions.
             */
            @Override
            public Missing missingAgentPrerequisite() {
                AgentDefinition agent =
                        AgentDefinition.withDefaults(
                                "proc",
                                LocalExecutor.KIND,
                                LocalSpec.process(List.of("/no/such/program"), dir, Map.of()),
                                "contract");
                return new Missing(
                        request(agent, JSON.createObjectNode(), AMPLE), "/no/such/program");
            }

            @Override
            public void close() {
                executor.close();
            }
        };
    }

    private AgentDefinition script(String body, Map<String, String> env) throws Exception {
        Path script = Files.writeString(Files.createTempFile(dir, "agent", ".sh"), body);
        return AgentDefinition.withDefaults(
                "proc",
                LocalExecutor.KIND,
                LocalSpec.process(List.of("sh", script.toString()), dir, env),
                "contract");
    }

    /**
     * The script writes its pid, then becomes the hour-long sleep: started when the file appears,
     * gone when that pid is.
     */
    private record PidFileProbe(Path pid, List<String> command) implements Probe {

        @Override
        public boolean awaitStarted(Duration limit) throws Exception {
            return await(limit, () -> Files.exists(pid));
        }

        @Override
        public boolean awaitGone(Duration limit) throws Exception {
            return await(
                    limit,
                    () ->
                            ProcessHandle.current().descendants().noneMatch(this::ours)
                                    && (!Files.exists(pid)
                                            || ProcessHandle.of(
                                                            Long.parseLong(
                                                                    Files.readString(pid).trim()))
                                                    .map(p -> !p.isAlive())
                                                    .orElse(true)));
        }

        /** The script's shell before it wrote its pid (its arguments name the script). */
        private boolean ours(ProcessHandle process) {
            return process.info()
                    .arguments()
                    .map(List::of)
                    .map(args -> args.contains(command.get(1)))
                    .orElse(false);
        }
    }
}
