package dev.pulse.executors.agents;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AgentFileLoaderTest {

    @TempDir Path dir;

    private final AgentFileLoader loader = new AgentFileLoader();

    @Test
    void loadsALocalAgentWithItsDefaultsAndResolvesItsWorkdirAgainstTheFile() throws IOException {
        write(
                "summarize.yaml",
                """
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: summarize}
                spec:
                  executor: local
                  timeout: 90s
                  max_concurrency: 4
                  retry: {base: 500ms, max: 2m}
                  local:
                    command: ["python3", "summarize.py"]
                    workdir: scripts
                    env: {API_KEY: "${env:API_KEY}"}
                """);
        AgentFileLoader.Loaded loaded = loader.loadDirectory(dir);

        assertThat(loaded.problems()).isEmpty();
        AgentDefinition agent = loaded.agents().get(0);
        assertThat(agent.name()).isEqualTo("summarize");
        assertThat(agent.timeout()).isEqualTo(Duration.ofSeconds(90));
        assertThat(agent.maxAttempts()).isEqualTo(AgentDefinition.DEFAULT_MAX_ATTEMPTS);
        assertThat(agent.maxConcurrency()).isEqualTo(4);
        assertThat(agent.retryBase()).isEqualTo(Duration.ofMillis(500));
        assertThat(agent.retryMax()).isEqualTo(Duration.ofMinutes(2));
        assertThat(agent.local().command()).containsExactly("python3", "summarize.py");
        assertThat(agent.local().workdir()).isEqualTo(dir.toAbsolutePath().resolve("scripts"));
        assertThat(agent.local().env()).containsEntry("API_KEY", "${env:API_KEY}");
    }

    @Test
    void reportsEveryProblemWithItsFileAndPathAndLoadsNothing() throws IOException {
        write(
                "good.yaml",
                """
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: good}
                spec: {executor: local, local: {command: ["true"]}}
                """);
        write(
                "bad.yml",
                """
                apiVersion: pulse/v2
                kind: Agent
                metadata: {name: "Bad Name"}
                spec:
                  executor: local
                  timeout: soon
                  max_attempts: 0
                  retries: 3
                  max_concurrency: 0
                  retry: {base: 1m, max: 1s}
                  local: {command: []}
                """);
        AgentFileLoader.Loaded loaded = loader.loadDirectory(dir);

        assertThat(loaded.agents()).isEmpty();
        assertThat(loaded.problems()).allSatisfy(p -> assertThat(p).contains("bad.yml"));
        assertThat(String.join("\n", loaded.problems()))
                .contains("apiVersion: must be pulse/v1")
                .contains("metadata.name:")
                .contains("spec.timeout:")
                .contains("spec.max_attempts:")
                .contains("spec.retries: unknown field")
                .contains("spec.max_concurrency:")
                .contains("spec.retry.max: must not be shorter")
                .contains("spec.local.command:");
    }

    @Test
    void readsPerKeyAndRateLimitsAndAnInJvmAgentAndNamesThePathOfEachBadValue() throws IOException {
        write(
                "limited.yaml",
                """
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: limited}
                spec:
                  executor: local
                  per_key_concurrency: 2
                  rate_limit: {limit: 5, period: 1s}
                  per_key_rate_limit: {limit: 60, period: 1m}
                  local: {java_agent: sleep}
                """);
        AgentFileLoader.Loaded good = loader.loadDirectory(dir);
        assertThat(good.problems()).isEmpty();
        AgentDefinition agent = good.agents().get(0);
        assertThat(agent.flow())
                .isEqualTo(
                        new FlowLimits(
                                2,
                                new RateLimit(5, Duration.ofSeconds(1)),
                                new RateLimit(60, Duration.ofMinutes(1))));
        assertThat(agent.limits().any()).isTrue();
        assertThat(agent.local().javaAgent()).isEqualTo("sleep");

        Files.delete(dir.resolve("limited.yaml"));
        write(
                "bad.yaml",
                """
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: bad}
                spec:
                  executor: local
                  per_key_concurrency: -1
                  rate_limit: {limit: -5, period: 1fortnight}
                  per_key_rate_limit: {limit: 5, period: 1s, burst: 2}
                  local: {command: ["true"]}
                """);
        String problems = String.join("\n", loader.loadDirectory(dir).problems());
        assertThat(problems)
                .contains("spec.per_key_concurrency:")
                .contains("spec.rate_limit.limit:")
                .contains("spec.rate_limit.period:")
                .contains("spec.per_key_rate_limit.burst:");
    }

    @Test
    void loadsAServerlessAgentWithEverySetting() throws IOException {
        write(
                "classify.yaml",
                """
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: classify}
                spec:
                  executor: serverless
                  timeout: 20s
                  serverless:
                    url: "https://fn.example.com/classify?code=${env:FN_CODE}"
                    method: put
                    headers: {X-Tenant: acme, X-Version: 2}
                    auth: {header: {name: X-Api-Key, value: "${env:FN_KEY}"}}
                    result: /output
                    mode: sync
                    retries: 4
                """);
        AgentFileLoader.Loaded loaded = loader.loadDirectory(dir);

        assertThat(loaded.problems()).isEmpty();
        AgentDefinition agent = loaded.agents().get(0);
        assertThat(agent.executor()).isEqualTo("serverless");
        assertThat(agent.local()).isNull();
        assertThat(agent.llm()).isNull();
        assertThat(agent.serverless())
                .isEqualTo(
                        new ServerlessSpec(
                                "https://fn.example.com/classify?code=${env:FN_CODE}",
                                "PUT",
                                Map.of("X-Tenant", "acme", "X-Version", "2"),
                                new ServerlessSpec.HeaderAuth("X-Api-Key", "${env:FN_KEY}"),
                                "/output",
                                ServerlessSpec.Mode.SYNC,
                                4));
    }

    @Test
    void serverlessDefaultsAndTheOtherAuthKinds() throws IOException {
        write(
                "agents.yaml",
                """
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: bearer}
                spec: {executor: serverless, serverless: {url: "http://10.0.0.5:9000/run", auth: {bearer: "${env:TOKEN}"}}}
                ---
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: basic}
                spec:
                  executor: serverless
                  serverless:
                    url: "${env:FN_URL}"
                    mode: async
                    auth: {basic: {username: pulse, password: "${env:FN_PASSWORD}"}}
                """);
        AgentFileLoader.Loaded loaded = loader.loadDirectory(dir);

        assertThat(loaded.problems()).isEmpty();
        ServerlessSpec bearer = loaded.agents().get(0).serverless();
        assertThat(bearer.method()).isEqualTo("POST");
        assertThat(bearer.mode()).isEqualTo(ServerlessSpec.Mode.SYNC);
        assertThat(bearer.retries()).isEqualTo(ServerlessSpec.DEFAULT_RETRIES);
        assertThat(bearer.result()).isNull();
        assertThat(bearer.auth()).isEqualTo(new ServerlessSpec.BearerAuth("${env:TOKEN}"));
        ServerlessSpec basic = loaded.agents().get(1).serverless();
        assertThat(basic.mode()).isEqualTo(ServerlessSpec.Mode.ASYNC);
        assertThat(basic.auth())
                .isEqualTo(new ServerlessSpec.BasicAuth("pulse", "${env:FN_PASSWORD}"));
        assertThat(basic.toString()).doesNotContain("FN_PASSWORD");
    }

    @Test
    void reportsEveryServerlessProblemWithItsPath() throws IOException {
        write(
                "bad.yaml",
                """
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: bad}
                spec:
                  executor: serverless
                  serverless:
                    url: "ftp://fn.example.com/run"
                    method: GET
                    headers: {"Bad Header": x, Host: example.com, X-Key: "${env:oops"}
                    auth: {bearer: "${env:A}", basic: {username: u, password: p}}
                    result: output
                    mode: later
                    retries: 99
                    timeout: 5s
                """);
        AgentFileLoader.Loaded loaded = loader.loadDirectory(dir);

        assertThat(loaded.agents()).isEmpty();
        assertThat(String.join("\n", loaded.problems()))
                .contains("spec.serverless.url: must be an absolute http(s) URL")
                .contains("spec.serverless.method: must be one of POST, PUT, PATCH")
                .contains("spec.serverless.headers.Bad Header: is not a valid header name")
                .contains("spec.serverless.headers.Host: is set by Pulse")
                .contains("spec.serverless.headers.X-Key: has a malformed secret reference")
                .contains("spec.serverless.auth: must have exactly one of bearer")
                .contains("spec.serverless.result: must be a JSON pointer")
                .contains("spec.serverless.mode: must be sync")
                .contains("spec.serverless.retries: must be an integer from 0 to 10")
                .contains("spec.serverless.timeout: unknown field");
    }

    @Test
    void serverlessNeedsItsBlockAndAUrlWithoutCredentials() throws IOException {
        write(
                "a.yaml",
                """
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: a}
                spec: {executor: serverless}
                ---
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: b}
                spec: {executor: serverless, serverless: {url: "https://user:pw@fn.example.com/", auth: {header: {name: X-K}}}}
                """);
        assertThat(String.join("\n", loader.loadDirectory(dir).problems()))
                .contains("spec.serverless: is required for executor serverless")
                .contains("spec.serverless.url: must not contain credentials")
                .contains("spec.serverless.auth.header.value: is required");
    }

    @Test
    void loadsAnLlmAgent() throws IOException {
        write(
                "summarise.yaml",
                """
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: summarise}
                spec:
                  executor: llm
                  llm:
                    provider: openai
                    base_url: http://localhost:11434/v1
                    model: llama3.1
                    api_key: "${env:OPENAI_API_KEY}"
                    system: You are terse.
                    prompt: "Summarise: {{input.text}}"
                    json: true
                    temperature: 0.3
                    max_tokens: 200
                """);
        AgentFileLoader.Loaded loaded = loader.loadDirectory(dir);

        assertThat(loaded.problems()).isEmpty();
        assertThat(loaded.agents().get(0).llm())
                .isEqualTo(
                        new LlmSpec(
                                "openai",
                                "http://localhost:11434/v1",
                                "llama3.1",
                                "${env:OPENAI_API_KEY}",
                                "You are terse.",
                                "Summarise: {{input.text}}",
                                true,
                                0.3,
                                200));
    }

    @Test
    void llmDefaultsToOpenAi() throws IOException {
        write(
                "a.yaml",
                """
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: a}
                spec: {executor: llm, llm: {model: gpt-4o-mini, prompt: "{{input}}"}}
                """);
        LlmSpec llm = loader.loadDirectory(dir).agents().get(0).llm();
        assertThat(llm.provider()).isEqualTo("openai");
        assertThat(llm.baseUrl()).isEqualTo(LlmSpec.DEFAULT_BASE_URL);
        assertThat(llm.apiKey()).isNull();
        assertThat(llm.json()).isFalse();
        assertThat(llm.temperature()).isNull();
        assertThat(llm.maxTokens()).isNull();
    }

    @Test
    void reportsEveryLlmProblemWithItsPath() throws IOException {
        write(
                "bad.yaml",
                """
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: bad}
                spec:
                  executor: llm
                  local: {command: ["true"]}
                  llm:
                    provider: gemini
                    base_url: localhost:11434
                    system: "Be {{ style }}"
                    json: "yes"
                    temperature: 3
                    max_tokens: 0
                    top_p: 0.5
                """);
        AgentFileLoader.Loaded loaded = loader.loadDirectory(dir);

        assertThat(loaded.agents()).isEmpty();
        assertThat(String.join("\n", loaded.problems()))
                .contains("spec.local: is only used with executor local")
                .contains("spec.llm.provider: must be openai")
                .contains("'gemini' is not supported")
                .contains("spec.llm.base_url: must be an absolute http(s) URL")
                .contains("spec.llm.model: is required")
                .contains("spec.llm.prompt: is required")
                .contains(
                        "spec.llm.system: placeholder {{ style }} must be {{input}} or {{input.path.to.field}}")
                .contains("spec.llm.json: must be true or false")
                .contains("spec.llm.temperature: must be a number from 0 to 2")
                .contains("spec.llm.max_tokens: must be an integer from 1")
                .contains("spec.llm.top_p: unknown field");
    }

    @Test
    void containerAgentsAreReadWithTheirLimitsAndBadOnesReportedByPath() throws IOException {
        write(
                "c.yaml",
                """
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: boxed}
                spec:
                  executor: container
                  container: {image: "busybox:1", command: ["cat"], env: {K: "${env:K}"}, memory: 128m, cpus: 0.25, pids: 32}
                """);
        AgentFileLoader.Loaded loaded = loader.loadDirectory(dir);
        assertThat(loaded.problems()).isEmpty();
        ContainerSpec spec = loaded.agents().get(0).container();
        assertThat(spec.memoryBytes()).isEqualTo(128L << 20);
        assertThat(spec.cpus()).isEqualTo(0.25);
        assertThat(spec.pids()).isEqualTo(32);
        assertThat(spec.network()).isFalse();

        write(
                "c.yaml",
                """
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: boxed}
                spec: {executor: container, container: {command: "cat", memory: lots, cpus: 0, network: "on", gpu: 1}}
                """);
        assertThat(String.join("\n", loader.loadDirectory(dir).problems()))
                .contains("spec.container.image: is required")
                .contains("spec.container.command:")
                .contains("spec.container.memory:")
                .contains("spec.container.cpus:")
                .contains("spec.container.network:")
                .contains("spec.container.gpu: unknown field");
    }

    @Test
    void anUnknownExecutorIsReported() throws IOException {
        write(
                "a.yaml",
                """
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: a}
                spec: {executor: nomad}
                """);
        assertThat(loader.loadDirectory(dir).problems())
                .singleElement()
                .asString()
                .contains(
                        "spec.executor: must be one of local, serverless, llm, container, kubernetes, remote or auto; got 'nomad'");
    }

    @Test
    void anLlmAgentTakesADailyBudgetAndRequestsPerMinuteAndOtherAgentsDoNot() throws IOException {
        write(
                "llm.yaml",
                """
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: summarise}
                spec:
                  executor: llm
                  requests_per_minute: 60
                  budget: {tokens_per_day: 100000, cost_usd_per_day: 2.5}
                  llm: {provider: openai, model: m, prompt: "Hi {{input.x}}"}
                """);
        AgentFileLoader.Loaded loaded = loader.loadDirectory(dir);
        assertThat(loaded.problems()).isEmpty();
        FlowLimits flow = loaded.agents().get(0).flow();
        assertThat(flow.rateLimit()).isEqualTo(new RateLimit(60, java.time.Duration.ofMinutes(1)));
        assertThat(flow.budget().tokensPerDay()).isEqualTo(100000L);
        assertThat(flow.budget().costUsdPerDay()).isEqualByComparingTo("2.5");

        Files.delete(dir.resolve("llm.yaml"));
        write(
                "local.yaml",
                """
                apiVersion: pulse/v1
                kind: Agent
                metadata: {name: echo2}
                spec:
                  executor: local
                  requests_per_minute: 5
                  budget: {tokens_per_day: 10}
                  local: {java_agent: echo}
                """);
        assertThat(loader.loadDirectory(dir).problems())
                .anySatisfy(p -> assertThat(p).contains("spec.budget"))
                .anySatisfy(p -> assertThat(p).contains("spec.requests_per_minute"));
    }

    @Test
    void invalidYamlIsReportedNotThrown() throws IOException {
        write("broken.yaml", "apiVersion: [unclosed");
        assertThat(loader.loadDirectory(dir).problems())
                .singleElement()
                .asString()
                .contains("not valid YAML");
    }

    @Test
    void aMissingDirectoryMeansNoAgents() {
        AgentFileLoader.Loaded loaded = loader.loadDirectory(dir.resolve("absent"));
        assertThat(loaded.agents()).isEmpty();
        assertThat(loaded.problems()).isEmpty();
    }

    private void write(String name, String text) throws IOException {
        Files.writeString(dir.resolve(name), text);
    }
}
