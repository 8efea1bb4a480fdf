package dev.pulse.executors.local;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pulse.executors.ExecutionRequest;
import dev.pulse.executors.Executor;
import dev.pulse.executors.ExecutorContract;
import dev.pulse.executors.agents.AgentDefinition;
import dev.pulse.executors.agents.LocalSpec;
import dev.pulse.executors.builtin.EchoAgent;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/** The local executor running in-JVM {@link JavaAgent}s through the executor contract. */
class InJvmAgentContractTest extends ExecutorContract {

    @Override
    protected Fixture start(Function<String, String> environment) {
        HangingAgent hang = new HangingAgent();
        JavaAgent fail =
                agent(
                        "contract-fail",
                        input -> {
                            throw new IllegalStateException(input.path("words").asText());
                        });
        LocalExecutor executor =
                new LocalExecutor(
                        new JavaAgents(List.of(new EchoAgent(), hang, fail)), JSON, environment);
        return new Fixture() {
            @Override
            public Executor executor() {
                return executor;
            }

            @Override
            public Success succeeding(JsonNode output) {
                return new Success(request(inJvm("echo"), output, AMPLE), output);
            }

            @Override
            public ExecutionRequest failing(String words) {
                return request(
                        inJvm(fail.name()), JSON.createObjectNode().put("words", words), AMPLE);
            }

            @Override
            public Hanging hanging(Duration timeout) {
                return new Hanging(
                        request(inJvm(hang.name()), JSON.createObjectNode(), timeout), hang);
            }

            @Override
            public Missing missingAgentPrerequisite() {
                return new Missing(
                        request(inJvm("contract-not-installed"), JSON.createObjectNode(), AMPLE),
                        "contract-not-installed");
            }

            @Override
            public void close() {
                executor.close();
            }
        };
    }

    private static AgentDefinition inJvm(String name) {
        return AgentDefinition.withDefaults(
                name, LocalExecutor.KIND, LocalSpec.inJvm(name), "contract");
    }

    private static JavaAgent agent(String name, Body body) {
        return new JavaAgent() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public JsonNode run(JsonNode input) throws Exception {
                return body.run(input);
            }
        };
    }

    private interface Body {
        JsonNode run(JsonNode input) throws Exception;
    }

    /** Sleeps an hour unless interrupted; its latches are the probe. Runs at most once per case. */
    private static final class HangingAgent implements JavaAgent, Probe {
        private final CountDownLatch started = new CountDownLatch(1);
        private final CountDownLatch returned = new CountDownLatch(1);
        private volatile boolean ran;

        @Override
        public String name() {
            return "contract-hang";
        }

        @Override
        public JsonNode run(JsonNode input) throws InterruptedException {
            ran = true;
            started.countDown();
            try {
                Thread.sleep(HANGS_FOR.toMillis());
                return input;
            } finally {
                returned.countDown();
            }
        }

        @Override
        public boolean awaitStarted(Duration limit) throws InterruptedException {
            return started.await(limit.toMillis(), TimeUnit.MILLISECONDS);
        }

        @Override
        public boolean awaitGone(Duration limit) throws InterruptedException {
            return !ran || returned.await(limit.toMillis(), TimeUnit.MILLISECONDS);
        }
    }
}
