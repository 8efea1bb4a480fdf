package dev.pulse.workers.tasks;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pulse.executors.TraceContext;
import java.math.BigDecimal;
import java.time.Instant;

/**
 * A validated request to queue a task. At most one of {@code runAt} and {@code delaySeconds} is
 * set; the due time is computed by the database clock when the row is inserted. A task with an
 * {@code idempotencyKey} is created at most once per key. {@code trace} is the context of the
 * request that queues it (the parent of its enqueue span). Built with {@link #builder}.
 */
public record NewTask(
        String agent,
        JsonNode input,
        JsonNode metadata,
        String callbackUrl,
        Instant runAt,
        BigDecimal delaySeconds,
        int priority,
        int maxAttempts,
        int timeoutSeconds,
        long retryBaseMs,
        long retryMaxMs,
        String idempotencyKey,
        String scheduleName,
        Instant fireTime,
        TraceContext trace,
        String concurrencyKey,
        JsonNode budget) {

    /** The longest concurrency key. */
    public static final int MAX_CONCURRENCY_KEY = 200;

    public NewTask {
        if (trace == null) {
            trace = TraceContext.NONE;
        }
    }

    /**
     * A request for {@code agent} with {@code input} and {@code metadata}; everything else is
     * optional or zero.
     */
    public static Builder builder(String agent, JsonNode input, JsonNode metadata) {
        return new Builder(agent, input, metadata);
    }

    /** The same request for a schedule's tick. */
    public NewTask forTick(String schedule, Instant tick) {
        return builder(agent, input, metadata)
                .callbackUrl(callbackUrl)
                .runAt(runAt)
                .delaySeconds(delaySeconds)
                .priority(priority)
                .maxAttempts(maxAttempts)
                .timeoutSeconds(timeoutSeconds)
                .retry(retryBaseMs, retryMaxMs)
                .idempotencyKey(idempotencyKey)
                .concurrencyKey(concurrencyKey)
                .budget(budget)
                .tick(schedule, tick)
                .trace(trace)
                .build();
    }

    /** Names each part of a {@link NewTask}, so no call site passes fourteen values by position. */
    public static final class Builder {
        private final String agent;
        private final JsonNode input;
        private final JsonNode metadata;
        private String callbackUrl;
        private Instant runAt;
        private BigDecimal delaySeconds;
        private int priority;
        private int maxAttempts;
        private int timeoutSeconds;
        private long retryBaseMs;
        private long retryMaxMs;
        private String idempotencyKey;
        private String scheduleName;
        private Instant fireTime;
        private TraceContext trace;
        private String concurrencyKey;
        private JsonNode budget;

        private Builder(String agent, JsonNode input, JsonNode metadata) {
            this.agent = agent;
            this.input = input;
            this.metadata = metadata;
        }

        public Builder callbackUrl(String callbackUrl) {
            this.callbackUrl = callbackUrl;
            return this;
        }

        public Builder runAt(Instant runAt) {
            this.runAt = runAt;
            return this;
        }

        public Builder delaySeconds(BigDecimal delaySeconds) {
            this.delaySeconds = delaySeconds;
            return this;
        }

        public Builder priority(int priority) {
            this.priority = priority;
            return this;
        }

        public Builder maxAttempts(int maxAttempts) {
            this.maxAttempts = maxAttempts;
            return this;
        }

        public Builder timeoutSeconds(int timeoutSeconds) {
            this.timeoutSeconds = timeoutSeconds;
            return this;
        }

        /** The backoff between attempts: from {@code baseMs}, doubling, at most {@code maxMs}. */
        public Builder retry(long baseMs, long maxMs) {
            this.retryBaseMs = baseMs;
            this.retryMaxMs = maxMs;
            return this;
        }

        public Builder idempotencyKey(String idempotencyKey) {
            this.idempotencyKey = idempotencyKey;
            return this;
        }

        /** Whose task this is (a tenant, a customer): claims are fair across keys. */
        public Builder concurrencyKey(String concurrencyKey) {
            this.concurrencyKey = concurrencyKey;
            return this;
        }

        /** What one run may spend (a validated {@code TaskBudget}), or null. */
        public Builder budget(JsonNode budget) {
            this.budget = budget;
            return this;
        }

        /** The schedule and the tick this task is fired for. */
        public Builder tick(String scheduleName, Instant fireTime) {
            this.scheduleName = scheduleName;
            this.fireTime = fireTime;
            return this;
        }

        /** The W3C trace context of the request that queues the task. */
        public Builder trace(TraceContext trace) {
            this.trace = trace;
            return this;
        }

        public NewTask build() {
            return new NewTask(
                    agent,
                    input,
                    metadata,
                    callbackUrl,
                    runAt,
                    delaySeconds,
                    priority,
                    maxAttempts,
                    timeoutSeconds,
                    retryBaseMs,
                    retryMaxMs,
                    idempotencyKey,
                    scheduleName,
                    fireTime,
                    trace,
                    concurrencyKey,
                    budget);
        }
    }
}
