package dev.pulse.executors;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pulse.executors.agents.AgentDefinition;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import okhttp3.OkHttpClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What every {@link Executor} promises, run against each one through a small subclass that says how
 * to make its agents behave (a {@link Fixture}): JobRunr's one storage contract test, for
 * executors. A new executor joins by extending this class; a case that genuinely cannot apply to it
 * is aborted by its fixture with {@link #doesNotApply}, which names the reason in the report.
 *
 * <p>Timing never depends on the machine's speed: an agent that must be stopped runs for {@link
 * #HANGS_FOR} (an hour), the timeouts are {@link #TIMEOUT} (two seconds), and the executor passes
 * when it ends within {@link #PROMPTLY}, which it can only do if it stopped the agent. Waits are on
 * conditions (the stand-in saw the request, the process wrote its pid).
 */
public abstract class ExecutorContract {

    /** How long a hanging agent runs if nobody stops it: far longer than any bound below. */
    public static final Duration HANGS_FOR = Duration.ofHours(1);

    public static final Duration TIMEOUT = Duration.ofSeconds(2);

    /** Generous for a loaded machine, yet a small fraction of {@link #HANGS_FOR}. */
    public static final Duration PROMPTLY = Duration.ofMinutes(5);

    /** The ordinary timeout of runs that are not meant to time out. */
    public static final Duration AMPLE = Duration.ofMinutes(2);

    public static final String SECRET_VARIABLE = "PULSE_CONTRACT_SECRET";
    public static final String UNSET_VARIABLE = "PULSE_CONTRACT_NOT_SET_ANYWHERE";

    protected static final ObjectMapper JSON = new ObjectMapper();

    /** A resolved secret unlikely to appear anywhere by chance. */
    private final String secret = "s3cret-" + UUID.randomUUID().toString().substring(0, 13);

    private Fixture fixture;

    public String secret() {
        return secret;
    }

    /**
     * Sets up the executor under test for one case. {@code environment} is where it must look up
     * {@code ${env:…}} references: the process environment plus {@link #SECRET_VARIABLE}.
     */
    protected abstract Fixture start(Function<String, String> environment) throws Exception;

    /** How one executor's agents are made to behave for each case. Closed after the case. */
    public interface Fixture extends AutoCloseable {

        Executor executor();

        /**
         * An attempt whose agent succeeds; {@code output} must appear in the result as {@link
         * Success#expected}.
         */
        Success succeeding(JsonNode output) throws Exception;

        /**
         * An attempt whose agent fails (exits non-zero, answers 500, throws), saying {@code words}.
         */
        ExecutionRequest failing(String words) throws Exception;

        /**
         * An attempt whose agent ends normally but leaves no JSON result; for executors that are
         * {@link ReadsTextOutput}.
         */
        default ExecutionRequest malformed() throws Exception {
            throw new UnsupportedOperationException("only for executors that read text output");
        }

        /**
         * An attempt whose agent runs for {@link #HANGS_FOR} unless stopped, watched by a probe.
         */
        Hanging hanging(Duration timeout) throws Exception;

        /**
         * An attempt whose agent fails after putting the value of {@code ${env:}{@link
         * #SECRET_VARIABLE}} in what it answers or writes (its error, its stderr).
         */
        default ExecutionRequest leakingSecret() throws Exception {
            throw new UnsupportedOperationException("only for executors that resolve secrets");
        }

        /**
         * An attempt whose agent needs something this node lacks (a command, a variable, an image),
         * and its name.
         */
        Missing missingAgentPrerequisite() throws Exception;

        @Override
        void close() throws Exception;
    }

    /** A succeeding attempt and the result output it must produce. */
    public record Success(ExecutionRequest request, JsonNode expected) {}

    /**
     * A hanging attempt and how to see that its run started, and later that nothing of it is left.
     */
    public record Hanging(ExecutionRequest request, Probe probe) {}

    /**
     * An attempt that cannot run here and the name of what is missing, which the error must
     * contain.
     */
    public record Missing(ExecutionRequest request, String named) {}

    /** An executor without a node prerequisite and a word its reason must contain. */
    public record Unavailable(Executor executor, String reasonContains) {}

    /** Watches one agent run from outside the executor. */
    public interface Probe {
        /**
         * Whether the run started (the process wrote its pid, the stand-in saw the request) within
         * {@code limit}.
         */
        boolean awaitStarted(Duration limit) throws Exception;

        /**
         * Whether, within {@code limit}, nothing of the run is left (process gone, call cancelled,
         * container removed).
         */
        boolean awaitGone(Duration limit) throws Exception;
    }

    /** How a stand-in tells that the first request reached it. */
    @FunctionalInterface
    public interface FirstRequest {
        boolean await(Duration limit) throws InterruptedException;
    }

    /**
     * The probe of a run that is an HTTP call: started once the stand-in saw the request, gone once
     * the executor's client has no call running.
     */
    public static Probe httpCall(FirstRequest seen, OkHttpClient http) {
        return new Probe() {
            @Override
            public boolean awaitStarted(Duration limit) throws InterruptedException {
                return seen.await(limit);
            }

            @Override
            public boolean awaitGone(Duration limit) throws Exception {
                return await(limit, () -> http.dispatcher().runningCallsCount() == 0);
            }
        };
    }

    /** An attempt of {@code agent} with the given input and timeout. */
    public static ExecutionRequest request(
            AgentDefinition agent, JsonNode input, Duration timeout) {
        return new ExecutionRequest(UUID.randomUUID(), 1, UUID.randomUUID(), agent, input, timeout);
    }

    /** Polls {@code condition} until it holds or {@code limit} passes; for probes. */
    public static boolean await(Duration limit, Condition condition) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.holds()) {
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            Thread.sleep(20);
        }
        return true;
    }

    @FunctionalInterface
    public interface Condition {
        boolean holds() throws Exception;
    }

    /** The fixture of the running case, started on first use. */
    public Fixture fixture() throws Exception {
        if (fixture == null) {
            Map<String, String> environment = new HashMap<>(System.getenv());
            environment.put(SECRET_VARIABLE, secret);
            environment.remove(UNSET_VARIABLE);
            fixture = start(environment::get);
        }
        return fixture;
    }

    @AfterEach
    void closeFixture() throws Exception {
        Thread.interrupted(); // a failed case may leave one, which would cut the clean-up short
        if (fixture != null) {
            fixture.close();
        }
    }

    @Test
    void aSucceedingAgentsOutputIsTheResult() throws Exception {
        JsonNode output =
                JSON.readTree(
                        "{\"summary\": \"naïve café, 3 words\", \"n\": [1, 2.5, -3], \"ok\": true, \"none\": null}");
        Success success = fixture().succeeding(output);
        Executor executor = fixture().executor();
        assertThat(success.request().agent().executor()).isEqualTo(executor.kind());
        assertThat(executor.validate(success.request().agent())).isEmpty();

        ExecutionResult result = executor.execute(success.request());

        assertThat(result.succeeded()).as("%s", result).isTrue();
        assertThat(result.error()).isNull();
        assertThat(result.output()).isEqualTo(success.expected());
        assertThat(result.alreadyRecorded()).isFalse();
    }

    @Test
    void aFailingAgentIsAFailedResultWithItsWordsNotAnException() throws Exception {
        ExecutionResult result =
                fixture().executor().execute(fixture().failing("model quota exceeded"));

        assertThat(result.succeeded()).isFalse();
        assertThat(result.error()).as("%s", result).isNotNull();
        assertThat(result.error().code()).isEqualTo(ExecutionError.AGENT_ERROR);
        assertThat(result.error().message()).isNotBlank();
        assertThat(result.error().message() + "\n" + result.logs())
                .as("the error or the logs say what the agent said")
                .contains("model quota exceeded");
    }

    /**
     * The executor's own deadline: a TIMEOUT result (the attempt failed), the run stopped, no
     * interrupt left behind.
     */
    @Test
    void anAgentThatOutlivesItsTimeoutIsStoppedAndTimesOut() throws Exception {
        Hanging hanging = fixture().hanging(TIMEOUT);
        long start = System.nanoTime();

        ExecutionResult result = fixture().executor().execute(hanging.request());

        assertThat(Duration.ofNanos(System.nanoTime() - start))
                .as("ended long before the agent would have")
                .isLessThan(PROMPTLY);
        assertThat(result.succeeded()).isFalse();
        assertThat(result.error()).as("%s", result).isNotNull();
        assertThat(result.error().code()).isEqualTo(ExecutionError.TIMEOUT);
        assertThat(result.error().message()).contains(TIMEOUT.toMillis() + " ms");
        assertThat(Thread.currentThread().isInterrupted())
                .as("the timeout left an interrupt on the caller")
                .isFalse();
        assertThat(hanging.probe().awaitGone(PROMPTLY))
                .as("the timed-out run was stopped")
                .isTrue();
    }

    /**
     * A node shutting down interrupts its running attempts (StopReason.SHUTDOWN) and hands them
     * back to the queue. The runner can only do that if the executor throws the interrupt: any
     * result, a TIMEOUT above all, would be recorded as the attempt's failure.
     */
    @Test
    void anInterruptMidRunStopsTheRunAndIsThrownSoTheAttemptIsHandedBack() throws Exception {
        Hanging hanging = fixture().hanging(AMPLE.plus(PROMPTLY));
        Run run = Run.inBackground(fixture().executor(), hanging.request());

        assertThat(hanging.probe().awaitStarted(AMPLE))
                .as("the agent started: %s", run.outcomeIfDone())
                .isTrue();
        assertThat(run.outcomeIfDone()).as("ended before the interrupt").isNull();
        run.interrupt();

        assertThat(run.outcome(PROMPTLY))
                .as("what execute ended with")
                .isInstanceOf(InterruptedException.class);
        assertThat(hanging.probe().awaitGone(PROMPTLY))
                .as("the interrupted run was stopped")
                .isTrue();
    }

    /**
     * Cancelling a task interrupts its attempt too (StopReason.CANCELLED), and may land at any
     * moment, also before the agent has started: the interrupt is then pending when execute begins.
     * The executor must not start (or must stop) the agent and throw; afterwards it runs the next
     * attempt on the same thread as usual.
     */
    @Test
    void aCancellationPendingWhenTheRunBeginsIsThrownAndTheExecutorCarriesOn() throws Exception {
        Hanging hanging = fixture().hanging(AMPLE.plus(PROMPTLY));
        JsonNode output = JSON.readTree("{\"after\": \"cancel\"}");
        Success next = fixture().succeeding(output);
        CompletableFuture<Object> cancelled = new CompletableFuture<>();
        CompletableFuture<Object> after = new CompletableFuture<>();
        Executor executor = fixture().executor();
        Thread caller =
                new Thread(
                        () -> {
                            Thread.currentThread().interrupt();
                            cancelled.complete(outcomeOf(executor, hanging.request()));
                            Thread.interrupted(); // as the runner does before it records anything
                            after.complete(outcomeOf(executor, next.request()));
                        },
                        "contract-cancelled-caller");
        caller.setDaemon(true);
        caller.start();

        assertThat(cancelled.get(PROMPTLY.toMillis(), TimeUnit.MILLISECONDS))
                .as("what the cancelled execute ended with")
                .isInstanceOf(InterruptedException.class);
        assertThat(hanging.probe().awaitGone(PROMPTLY))
                .as("nothing of the cancelled run is left")
                .isTrue();
        Object nextOutcome = after.get(PROMPTLY.toMillis(), TimeUnit.MILLISECONDS);
        assertThat(nextOutcome).as("the next attempt").isInstanceOf(ExecutionResult.class);
        ExecutionResult result = (ExecutionResult) nextOutcome;
        assertThat(result.succeeded()).as("%s", result).isTrue();
        assertThat(result.output()).isEqualTo(next.expected());
    }

    @Test
    void anAgentWhosePrerequisiteIsMissingFailsAsExecutorUnavailableNamingIt() throws Exception {
        Missing missing = fixture().missingAgentPrerequisite();

        ExecutionResult result = fixture().executor().execute(missing.request());

        assertThat(result.succeeded()).isFalse();
        assertThat(result.error()).as("%s", result).isNotNull();
        assertThat(result.error().code()).isEqualTo(ExecutionError.EXECUTOR_UNAVAILABLE);
        assertThat(result.error().message()).contains(missing.named());
    }

    @Test
    void withItsPrerequisitesTheExecutorReportsItselfAvailable() throws Exception {
        Availability availability = fixture().executor().availability();
        assertThat(availability.available()).as("%s", availability).isTrue();
        assertThat(availability.reason()).isNull();
    }

    /**
     * {@code auto} and the agent checks ask validate(); an agent without the executor's settings
     * names the block.
     */
    @Test
    void anAgentWithoutTheExecutorsSettingsIsRefusedNamingTheBlock() throws Exception {
        Executor executor = fixture().executor();
        AgentDefinition bare =
                AgentDefinition.withDefaults("bare", executor.kind(), null, "contract");

        assertThat(executor.validate(bare))
                .isNotEmpty()
                .allSatisfy(problem -> assertThat(problem).startsWith("spec."));
    }

    /** What execute returned, or what it threw. */
    private static Object outcomeOf(Executor executor, ExecutionRequest request) {
        try {
            return executor.execute(request);
        } catch (Throwable e) {
            return e;
        }
    }

    /** One execute on a thread of its own, so that the test can interrupt it. */
    private static final class Run {
        private final Thread thread;
        private final CompletableFuture<Object> outcome = new CompletableFuture<>();

        private Run(Executor executor, ExecutionRequest request) {
            thread =
                    new Thread(
                            () -> outcome.complete(outcomeOf(executor, request)),
                            "contract-caller");
            thread.setDaemon(true);
        }

        static Run inBackground(Executor executor, ExecutionRequest request) {
            Run run = new Run(executor, request);
            run.thread.start();
            return run;
        }

        void interrupt() {
            thread.interrupt();
        }

        Object outcomeIfDone() {
            return outcome.getNow(null);
        }

        Object outcome(Duration limit) throws Exception {
            return outcome.get(limit.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Executors whose agents hand back text (stdout, an HTTP body, a model's reply) that may not be
     * JSON.
     */
    public interface ReadsTextOutput {
        Fixture fixture() throws Exception;

        @Test
        default void anAgentThatLeavesNoJsonResultFailsAsInvalidOutput() throws Exception {
            ExecutionResult result = fixture().executor().execute(fixture().malformed());

            assertThat(result.succeeded()).isFalse();
            assertThat(result.error()).as("%s", result).isNotNull();
            assertThat(result.error().code()).isEqualTo(ExecutionError.INVALID_OUTPUT);
            assertThat(result.error().message()).contains("JSON");
        }
    }

    /** Executors that resolve {@code ${env:…}} secrets into what an agent runs with. */
    public interface ResolvesSecrets {
        Fixture fixture() throws Exception;

        /** The resolved value of {@link #SECRET_VARIABLE}. */
        String secret();

        @Test
        default void aSecretTheAgentRepeatsIsRedactedFromTheErrorAndTheLogs() throws Exception {
            ExecutionResult result = fixture().executor().execute(fixture().leakingSecret());

            assertThat(result.succeeded()).isFalse();
            assertThat(result.error()).as("%s", result).isNotNull();
            String reported = result.error().message() + "\n" + result.logs();
            assertThat(reported).doesNotContain(secret()).contains(Redactor.MARK);
            assertThat(String.valueOf(result)).doesNotContain(secret());
        }
    }

    /** Executors that need something of the node (an engine, a socket) to run anything. */
    public interface NeedsNodePrerequisite {
        /**
         * The executor set up without what it needs from the node, and a word its unavailability
         * reason must contain.
         */
        Unavailable withoutNodePrerequisite(Function<String, String> environment) throws Exception;

        @Test
        default void withoutANodePrerequisiteTheExecutorReportsItselfUnavailableAndWhy()
                throws Exception {
            Map<String, String> environment = new HashMap<>(System.getenv());
            Unavailable unavailable = withoutNodePrerequisite(environment::get);
            try {
                Availability availability = unavailable.executor().availability();
                assertThat(availability.available()).as("%s", availability).isFalse();
                assertThat(availability.reason()).contains(unavailable.reasonContains());
            } finally {
                if (unavailable.executor() instanceof AutoCloseable closeable) {
                    closeable.close();
                }
            }
        }
    }
}
