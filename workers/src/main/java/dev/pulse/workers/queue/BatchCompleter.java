package dev.pulse.workers.queue;

import dev.pulse.executors.ExecutionError;
import dev.pulse.workers.db.DatabaseErrors;
import dev.pulse.workers.queue.TaskCompleter.Completion;
import dev.pulse.workers.tasks.TaskState;
import dev.pulse.workers.timing.Batches;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records ended attempts in batches: slots hand their completion over with {@link #submit} and
 * are free again; one thread flushes the queue every {@code maxLinger} or {@code maxBatch}
 * items, whichever comes first, in one transaction through {@link TaskCompleter#recordAll}
 * (the same fenced updates, stale recording and outbox rows as one at a time).
 *
 * <p>The queue is bounded: when the database falls behind, {@link #submit} blocks the slot, and
 * {@link #room} tells the worker to claim no more than can be recorded. A flush that fails
 * because the database is unreachable is retried, never dropped; a batch the database refuses
 * for another reason is recorded item by item, so one bad result cannot sink the others.
 * {@link #close} flushes everything still queued.
 */
public final class BatchCompleter implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(BatchCompleter.class);
    private static final Duration RECORD_FOR_AT_MOST = Duration.ofMinutes(10);
    private static final Duration FINAL_FLUSH_FOR_AT_MOST = Duration.ofSeconds(30);
    /** How long an idle recorder waits for work before it looks whether it is closing. */
    private static final Duration IDLE_POLL = Duration.ofMillis(100);

    /** Queue capacity, largest batch, and the longest a completion waits for others to join it. */
    public record Settings(int capacity, int maxBatch, Duration maxLinger) {
        public static final Settings DEFAULT = new Settings(400, 100, Duration.ofMillis(10));

        public Settings {
            if (maxBatch < 1 || capacity < maxBatch || maxLinger.isNegative() || maxLinger.toMillis() > 50) {
                throw new IllegalArgumentException("need 1 <= maxBatch <= capacity and 0 <= maxLinger <= 50 ms");
            }
        }
    }

    private final TaskCompleter completer;
    private final Settings settings;
    private final Runnable onFlushed;
    private final BlockingQueue<Completion> queue;
    private final Thread thread;
    private volatile boolean closing;
    private volatile boolean stopped;
    private volatile List<Completion> unfinished = List.of();

    /** {@code onFlushed} runs after every flush, e.g. to wake the claim loop now that there is room. */
    public BatchCompleter(TaskCompleter completer, Settings settings, Runnable onFlushed) {
        this.completer = completer;
        this.settings = settings;
        this.onFlushed = onFlushed;
        this.queue = new ArrayBlockingQueue<>(settings.capacity());
        this.thread = new Thread(this::run, "pulse-completer");
    }

    public void start() {
        thread.start();
    }

    /** Queues an ended attempt for recording; blocks while the queue is full. */
    public void submit(Completion completion) throws InterruptedException {
        queue.put(completion);
        if (stopped) {
            // Closed meanwhile: nobody flushes any more, so record it here.
            flushRemaining(FINAL_FLUSH_FOR_AT_MOST);
        }
    }

    /** How many more completions can be queued without blocking: the most the worker should claim. */
    public int room() {
        return queue.remainingCapacity();
    }

    /** Completions queued and not yet recorded. */
    public int pending() {
        return queue.size();
    }

    private void run() {
        List<Completion> batch = new ArrayList<>(settings.maxBatch());
        try {
            while (!closing || !queue.isEmpty()) {
                if (Batches.gather(queue, batch, settings.maxBatch(), IDLE_POLL, settings.maxLinger(), () -> closing)) {
                    flush(batch, System.nanoTime() + RECORD_FOR_AT_MOST.toNanos());
                    batch.clear();
                }
            }
        } catch (InterruptedException e) {
            // Stopped by close while a flush waited for the database: close records what is left.
            // Recording a completion twice is harmless: the fence turns the second into a no-op.
            unfinished = List.copyOf(batch);
        }
    }

    private synchronized void flushRemaining(Duration atMost) {
        List<Completion> rest = new ArrayList<>(unfinished);
        unfinished = List.of();
        queue.drainTo(rest);
        long deadline = System.nanoTime() + atMost.toNanos();
        try {
            for (int i = 0; i < rest.size(); i += settings.maxBatch()) {
                flush(rest.subList(i, Math.min(rest.size(), i + settings.maxBatch())), deadline);
            }
        } catch (InterruptedException e) {
            log.warn("gave up recording {} attempt(s): the node is stopping; their leases will expire and the tasks be rescued",
                    rest.size());
            Thread.currentThread().interrupt();
        }
    }

    /** Records one batch, retrying while the database is unreachable (until the deadline). */
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
                    log.warn("cannot record {} attempt(s) yet, the database is unreachable; retrying in {} ms",
                            batch.size(), pause);
                    Thread.sleep(pause);
                    pause = Math.min(pause * 2, 5_000);
                } else if (DatabaseErrors.isConnectivity(e)) {
                    log.error("gave up recording {} attempt(s) after {}; their leases will expire and the tasks be rescued",
                            batch.size(), RECORD_FOR_AT_MOST, e);
                    onFlushed.run();
                    return;
                } else if (batch.size() > 1) {
                    // The database refused something in the batch: find it by recording one at a time.
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
    private void refused(Completion completion, RuntimeException e, long deadline) throws InterruptedException {
        if ("succeeded".equals(completion.outcome())) {
            flush(List.of(completer.failed(completion.claimed(), new ExecutionError(ExecutionError.INVALID_OUTPUT,
                    "the result could not be stored: " + e.getMessage()), completion.logs())), deadline);
        } else {
            log.error("could not record attempt {} of task {}; its lease will expire and the task be rescued",
                    completion.claimed().attempt(), completion.claimed().id(), e);
            onFlushed.run();
        }
    }

    private static void report(Completion completion, Optional<TaskState> recorded) {
        ClaimedTask claimed = completion.claimed();
        if (recorded.isEmpty()) {
            log.warn("attempt {} of task {} ended after its lease was lost; its outcome was recorded as stale",
                    claimed.attempt(), claimed.id());
        } else if (recorded.get() == TaskState.SUCCEEDED) {
            log.debug("attempt {} of task {} succeeded", claimed.attempt(), claimed.id());
        } else {
            log.info("attempt {} of task {} ended: task is {}", claimed.attempt(), claimed.id(),
                    recorded.get().wire());
        }
    }

    /** Flushes every queued completion, then stops; call once no slot can submit any more. */
    @Override
    public void close() throws InterruptedException {
        closing = true;
        if (thread.isAlive()) {
            thread.join(FINAL_FLUSH_FOR_AT_MOST.toMillis());
            if (thread.isAlive()) {
                thread.interrupt();
                thread.join(5_000);
            }
        }
        stopped = true;
        flushRemaining(FINAL_FLUSH_FOR_AT_MOST);
    }
}
