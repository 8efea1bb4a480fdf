package dev.pulse.executors;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.AgentFileLoader;
import dev.pulse.executors.agents.LlmSpec;
import dev.pulse.executors.agents.ServerlessSpec;
import dev.pulse.executors.llm.LlmExecutor;
import dev.pulse.executors.local.JavaAgents;
import dev.pulse.executors.local.LocalExecutor;
import dev.pulse.executors.serverless.ServerlessExecutor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import okhttp3.OkHttpClient;
import org.junit.jupiter.api.Test;

class ExecutorFactoryTest {

    @Test
    void autoPicksTheFirstAvailableOfServerlessThenLocal() throws Exception {
        ObjectMapper json = new ObjectMapper();
        OkHttpClient http = new OkHttpClient();
        Map<String, String> env = Map.of();
        Path dir = Files.createTempDirectory("auto");
        Files.writeString(
                dir.resolve("agents.yaml"),
                """
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: both}
                spec:
                  executor: auto
                  serverless: {url: "https://fn.example.com/run"}
                  local: {command: ["python3", "run.py"]}
                ---
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: only-local}
                spec:
                  executor: auto
                  local: {command: ["python3", "run.py"]}
                ---
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: neither}
                spec: {executor: auto, llm: {provider: openai, model: m, prompt: "x"}}
                """);
        var loaded = new AgentFileLoader().loadFile(dir.resolve("agents.yaml"));
        assertThat(String.join("\n", loaded.problems()))
                .contains("auto picks the first available")
                .contains("spec.llm:");
        try (LocalExecutor local = new LocalExecutor(JavaAgents.discover(), json, env::get);
                ServerlessExecutor serverless =
                        new ServerlessExecutor(http, json, env::get, CompletionReports.NONE)) {
            ExecutorFactory factory = new ExecutorFactory(List.of(local, serverless));
            var agents =
                    loaded.agents().stream()
                            .collect(Collectors.toMap(AgentDefinition::name, a -> a));
            assertThat(factory.executorFor(agents.get("both"))).containsSame(serverless);
            assertThat(factory.executorFor(agents.get("only-local"))).containsSame(local);
            assertThat(factory.choose(agents.get("both")).reason())
                    .isEqualTo("executor auto chose serverless");
            assertThat(factory.choose(agents.get("only-local")).reason())
                    .startsWith(
                            "executor auto chose local (passed over serverless: spec.serverless: is required");
            AgentDefinition none =
                    AgentDefinition.withDefaults("none", ExecutorFactory.AUTO, null, "test");
            ExecutorFactory.Choice nothing = factory.choose(none);
            assertThat(nothing.executor()).isEmpty();
            assertThat(nothing.reason())
                    .startsWith("executor auto found no executor")
                    .contains("serverless:")
                    .contains("local:")
                    .contains("container: not on this node");
        }
    }

    @Test
    void resolvesEachKindToItsExecutor() {
        ObjectMapper json = new ObjectMapper();
        OkHttpClient http = new OkHttpClient();
        Map<String, String> env = Map.of();
        try (LocalExecutor local = new LocalExecutor(JavaAgents.discover(), json, env::get);
                ServerlessExecutor serverless =
                        new ServerlessExecutor(http, json, env::get, CompletionReports.NONE);
                LlmExecutor llm = new LlmExecutor(http, json, env::get)) {
            ExecutorFactory factory = new ExecutorFactory(List.of(local, serverless, llm));

            AgentDefinition fn =
                    AgentDefinition.withDefaults(
                            "fn",
                            "serverless",
                            null,
                            ServerlessSpec.sync("https://fn.example.com/"),
                            null,
                            "test");
            AgentDefinition chat =
                    AgentDefinition.withDefaults(
                            "chat",
                            "llm",
                            null,
                            null,
                            LlmSpec.openAi(
                                    LlmSpec.DEFAULT_BASE_URL,
                                    "gpt-4o-mini",
                                    "${env:OPENAI_API_KEY}",
                                    "{{input}}"),
                            "test");

            assertThat(factory.executorFor(fn)).containsSame(serverless);
            assertThat(factory.executorFor(chat)).containsSame(llm);
            assertThat(factory.knowsKind("serverless")).isTrue();
            assertThat(factory.knowsKind("llm")).isTrue();
            assertThat(serverless.validate(fn)).isEmpty();
            assertThat(llm.validate(chat)).isEmpty();
        }
    }
}
