package dev.pulse.workers.queue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.pulse.executors.ExecutionError;
import dev.pulse.workers.db.DatabaseErrors;
import dev.pulse.workers.queue.TaskCompleter.Completion;
import dev.pulse.workers.tasks.TaskState;
import dev.pulse.workers.timing.BatchRecorder;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records ended attempts in batches ({@link EndedAttempts}, what the runner sees): slots hand their
 * attempt's end over and are free again; a {@link BatchRecorder} flushes the queue every {@code
 * maxLinger} or {@code maxBatch} items, whichever comes first, in one transaction through {@link
 * TaskCompleter#recordStates} (the same fenced updates, stale recording and outbox rows as one at a
 * time). This class is the recorder's retry policy.
 *
 * <p>The queue is bounded: when the database falls behind, {@link #submit} blocks the slot, and
 * {@link #room} tells the worker to claim no more than can be recorded. A flush that fails because
 * the database is unreachable is retried, never dropped; a batch the database refuses for another
 * reason is recorded item by item, so one bad result cannot sink the others. {@link #close} flushes
 * everything still queued.
 */
public final class BatchCompleter implements EndedAttempts, AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(BatchCompleter.class);
    private static final Duration RECORD_FOR_AT_MOST = Duration.ofMinutes(10);

    /** Queue capacity, largest batch, and the longest a completion waits for others to join it. */
    public record Settings(int capacity, int maxBatch, Duration maxLinger) {
        public static final Settings DEFAULT = new Settings(400, 100, Duration.ofMillis(10));

        public Settings {
            if (maxBatch < 1
                    || capacity < maxBatch
                    || maxLinger.isNegative()
                    || maxLinger.toMillis() > 50) {
                throw new IllegalArgumentException(
                        "need 1 <= maxBatch <= capacity and 0 <= maxLinger <= 50 ms");
            }
        }
    }

    private final TaskCompleter completer;
    private final Runnable onFlushed;
    private final BatchRecorder<Completion> recorder;

    /**
     * {@code onFlushed} runs after every flush, e.g. to wake the claim loop now that there is room.
     */
    public BatchCompleter(TaskCompleter completer, Settings settings, Runnable onFlushed) {
        this.completer = completer;
        this.onFlushed = onFlushed;
        this.recorder =
                new BatchRecorder<>(
                        new BatchRecorder.Settings(
                                "pulse-completer",
                                settings.capacity(),
                                settings.maxBatch(),
                                settings.maxLinger(),
                                RECORD_FOR_AT_MOST),
                        (batch, deadline, closing) -> flush(batch, deadline));
    }

    public void start() {
        recorder.start();
    }

    @Override
    public void succeeded(ClaimedTask claimed, JsonNode output, String logs)
            throws InterruptedException {
        // A result the database refuses (e.g. a string with a NUL character) is recorded as an
        // invalid_output failure (see refused).
        submit(completer.succeeded(claimed, output, logs));
    }

    @Override
    public void failed(ClaimedTask claimed, ExecutionError error, String logs)
            throws InterruptedException {
        submit(completer.failed(claimed, error, logs));
    }

    @Override
    public void throttled(ClaimedTask claimed, ExecutionError error, String logs)
            throws InterruptedException {
        submit(completer.throttled(claimed, error, logs));
    }

    @Override
    public void overBudget(
            ClaimedTask claimed, ExecutionError error, JsonNode usage, JsonNode output, String logs)
            throws InterruptedException {
        submit(completer.overBudget(claimed, error, usage, output, logs));
    }

    @Override
    public void cancelled(ClaimedTask claimed, String logs) throws InterruptedException {
        submit(completer.cancellation(claimed, logs));
    }

    @Override
    public void released(ClaimedTask claimed) throws InterruptedException {
        submit(completer.released(claimed));
    }

    /** Queues an ended attempt for recording; blocks while the queue is full. */
    public void submit(Completion completion) throws InterruptedException {
        recorder.submit(completion);
    }

    /**
     * How many more completions can be queued without blocking: the most the worker should claim.
     */
    public int room() {
        return recorder.room();
    }

    /** Completions queued and not yet recorded. */
    public int pending() {
        return recorder.pending();
    }

    /**
     * Records one batch. A flush that fails because the database is unreachable is retried (until
     * the deadline), never dropped; a batch the database refuses for another reason is recorded
     * item by item, so one bad result cannot sink the others.
     */
    private void flush(List<Completion> batch, long deadline) throws InterruptedException {
        long pause = 100;
        while (true) {
            try {
                List<Optional<TaskState>> recorded = completer.recordStates(batch);
                for (int i = 0; i < batch.size(); i++) {
                    report(batch.get(i), recorded.get(i));
                }
                onFlushed.run();
                return;
            } catch (RuntimeException e) {
                if (DatabaseErrors.isConnectivity(e) && System.nanoTime() < deadline) {
                    log.warn(
                            "cannot record {} attempt(s) yet, the database is unreachable; retrying in {} ms",
                            batch.size(),
                            pause);
                    Thread.sleep(pause);
                    pause = Math.min(pause * 2, 5_000);
                } else if (DatabaseErrors.isConnectivity(e)) {
                    log.error(
                            "gave up recording {} attempt(s) after {}; their leases will expire and the tasks be rescued",
                            batch.size(),
                            RECORD_FOR_AT_MOST,
                            e);
                    onFlushed.run();
                    return;
                } else if (batch.size() > 1) {
                    // The database refused something in the batch: find it by recording one at a
                    // time.
                    for (Completion completion : batch) {
                        flush(List.of(completion), deadline);
                    }
                    return;
                } else {
                    refused(batch.get(0), e, deadline);
                    return;
                }
            }
        }
    }

    /** The database refused one attempt's record, e.g. a result string with a NUL character. */
    private void refused(Completion completion, RuntimeException e, long deadline)
            throws InterruptedException {
        if ("succeeded".equals(completion.outcome())) {
            flush(
                    List.of(
                            completer.failed(
                                    completion.claimed(),
                                    new ExecutionError(
                                            ExecutionError.INVALID_OUTPUT,
                                            "the result could not be stored: " + e.getMessage()),
                                    completion.logs())),
                    deadline);
        } else {
            log.error(
                    "could not record attempt {} of task {}; its lease will expire and the task be rescued",
                    completion.claimed().attempt(),
                    completion.claimed().id(),
                    e);
            onFlushed.run();
        }
    }

    private static void report(Completion completion, Optional<TaskState> recorded) {
        ClaimedTask claimed = completion.claimed();
        if (recorded.isEmpty()) {
            log.warn(
                    "attempt {} of task {} ended after its lease was lost; its outcome was recorded as stale",
                    claimed.attempt(),
                    claimed.id());
        } else if (recorded.get() == TaskState.SUCCEEDED) {
            log.debug("attempt {} of task {} succeeded", claimed.attempt(), claimed.id());
        } else {
            log.info(
                    "attempt {} of task {} ended: task is {}",
                    claimed.attempt(),
                    claimed.id(),
                    recorded.get().wire());
        }
    }

    /** Flushes every queued completion, then stops; call once no slot can submit any more. */
    @Override
    public void close() throws InterruptedException {
        recorder.close();
    }
}
