package dev.pulse.workers.timing;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records outcomes in batches: producers hand each over with {@link #submit} and go on; one thread
 * writes the queue every {@code maxLinger} or {@code maxBatch} items, whichever comes first,
 * through the {@link Flush} given, which also decides what to do when a write fails (its retry
 * policy). The task completer and the callback dispatcher each record through one.
 *
 * <p>The queue is bounded by {@code capacity} (or {@link #UNBOUNDED}): when the writes fall behind,
 * {@link #submit} blocks the producer, and {@link #room} tells a claim loop to claim no more than
 * can be queued. {@link #close} writes everything still queued.
 */
public final class BatchRecorder<T> implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(BatchRecorder.class);

    /** A capacity for a queue that never blocks its producers. */
    public static final int UNBOUNDED = Integer.MAX_VALUE;

    /** How long the final writes (on close) may retry in all. */
    static final Duration FINAL_FLUSH_FOR_AT_MOST = Duration.ofSeconds(30);

    /** How long an idle recorder waits for work before it looks whether it is closing. */
    private static final Duration IDLE_POLL = Duration.ofMillis(100);

    /** Writes one batch, and is the recorder's retry policy. */
    public interface Flush<T> {
        /**
         * Writes {@code batch} (in one transaction), retrying as the policy says but not past
         * {@code deadline} (a {@link System#nanoTime} value); {@code closing} when the recorder is
         * stopping. Returns when the batch is written or given up.
         */
        void flush(List<T> batch, long deadline, boolean closing) throws InterruptedException;
    }

    /**
     * @param thread the name of the thread that writes
     * @param capacity the most items queued ({@link #UNBOUNDED} for no limit)
     * @param maxBatch the most items written at once
     * @param maxLinger the longest an item waits for others to join its batch
     * @param flushForAtMost how long the write of one batch may retry while the recorder runs
     */
    public record Settings(
            String thread,
            int capacity,
            int maxBatch,
            Duration maxLinger,
            Duration flushForAtMost) {}

    private final Settings settings;
    private final Flush<T> flush;
    private final BlockingQueue<T> queue;
    private final Thread thread;
    private volatile boolean closing;
    private volatile boolean stopped;
    private volatile List<T> unfinished = List.of();

    public BatchRecorder(Settings settings, Flush<T> flush) {
        this.settings = settings;
        this.flush = flush;
        // An array when bounded: a linked queue allocates a node per item.
        this.queue =
                settings.capacity() == UNBOUNDED
                        ? new LinkedBlockingQueue<>()
                        : new ArrayBlockingQueue<>(settings.capacity());
        this.thread = new Thread(this::run, settings.thread());
    }

    public void start() {
        thread.start();
    }

    /** Queues an item for recording; blocks while the queue is full. */
    public void submit(T item) throws InterruptedException {
        // Waits (and so can be interrupted) only when full: an interrupted producer with room still
        // records.
        if (!queue.offer(item)) {
            queue.put(item);
        }
        if (stopped) {
            // Closed meanwhile: nobody writes any more, so write it here.
            flushRemaining();
        }
    }

    /** How many more items can be queued without blocking. */
    public int room() {
        return queue.remainingCapacity();
    }

    /** Items queued and not yet written. */
    public int pending() {
        return queue.size();
    }

    private void run() {
        List<T> batch = new ArrayList<>(Math.min(settings.maxBatch(), 1_000));
        try {
            while (!closing || !queue.isEmpty()) {
                if (Batches.gather(
                        queue,
                        batch,
                        settings.maxBatch(),
                        IDLE_POLL,
                        settings.maxLinger(),
                        () -> closing)) {
                    flush.flush(
                            batch,
                            System.nanoTime() + settings.flushForAtMost().toNanos(),
                            closing);
                    batch.clear();
                }
            }
        } catch (InterruptedException e) {
            // Stopped by close while a write waited: close writes what is left. The flushes must
            // make writing an item twice harmless (the task completer's fence, the outbox's
            // pending-only update turn the second into a no-op).
            unfinished = List.copyOf(batch);
        }
    }

    private synchronized void flushRemaining() {
        List<T> rest = new ArrayList<>(unfinished);
        unfinished = List.of();
        queue.drainTo(rest);
        long deadline = System.nanoTime() + FINAL_FLUSH_FOR_AT_MOST.toNanos();
        try {
            for (int i = 0; i < rest.size(); i += settings.maxBatch()) {
                flush.flush(
                        rest.subList(i, Math.min(rest.size(), i + settings.maxBatch())),
                        deadline,
                        true);
            }
        } catch (InterruptedException e) {
            log.warn(
                    "gave up recording {} item(s) on {}: the node is stopping",
                    rest.size(),
                    settings.thread());
            Thread.currentThread().interrupt();
        }
    }

    /** Writes every queued item, then stops; call once no producer can submit any more. */
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
        flushRemaining();
    }
}
