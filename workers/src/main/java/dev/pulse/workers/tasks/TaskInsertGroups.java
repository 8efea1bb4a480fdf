package dev.pulse.workers.tasks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Group commit for single enqueues: concurrent requests to queue one task each are gathered for at
 * most a short window (or until a group is full) into one multi-row insert and one commit, and each
 * caller returns only after the commit that holds its row. Durability is that of a single insert
 * ({@code synchronous_commit} stays on); what a request saves is its own transaction, its own
 * statement and its own WAL flush, shared with the requests beside it.
 *
 * <p>A group that fails to commit fails every request in it ({@link CommitFailed}) and wrote
 * nothing. Validation happens before a request joins a group, so bad input stays the business of
 * the request that sent it.
 *
 * <p>Gathering is done by one committer at a time, so a group is never split between two; the other
 * committers meanwhile run the commits of the groups gathered before (a second committer lets the
 * next group gather while one waits for its WAL flush).
 */
public final class TaskInsertGroups implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(TaskInsertGroups.class);

    /** The group's transaction failed: this request's task was not stored, nor any of its group. */
    public static final class CommitFailed extends RuntimeException {
        CommitFailed(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private record Request(TaskStore.OwnedTask task, CompletableFuture<Enqueued> answer) {}

    private final TaskStore store;
    private final long windowNanos;
    private final int maxGroup;
    private final BlockingQueue<Request> waiting = new LinkedBlockingQueue<>();
    private final ReentrantLock gathering = new ReentrantLock();
    private final List<Thread> committers = new ArrayList<>();
    private volatile boolean running = true;

    /**
     * @param window how long a group waits for more requests after its first
     * @param maxGroup a group this size commits at once
     * @param committers threads committing groups (each holds a connection while it commits)
     */
    public TaskInsertGroups(TaskStore store, Duration window, int maxGroup, int committers) {
        this.store = store;
        this.windowNanos = window.toNanos();
        this.maxGroup = maxGroup;
        for (int i = 0; i < committers; i++) {
            Thread t = new Thread(this::run, "pulse-enqueue-group-" + i);
            t.setDaemon(true);
            this.committers.add(t);
            t.start();
        }
    }

    /**
     * Queues {@code task} in the idempotency namespace of {@code owner} with the requests beside
     * it, and returns once its group has committed: what {@link TaskStore#enqueue(NewTask, String)}
     * returns.
     *
     * @throws CommitFailed when its group did not commit (nothing of it was written), or the node
     *     is stopping
     */
    public Enqueued enqueue(NewTask task, String owner) {
        Request request =
                new Request(new TaskStore.OwnedTask(task, owner), new CompletableFuture<>());
        if (!running) {
            throw stopping();
        }
        waiting.add(request);
        if (!running && waiting.remove(request)) {
            // close() may have drained the queue before this request was added; a request a
            // committer already took is answered by its commit.
            request.answer().completeExceptionally(stopping());
        }
        try {
            return request.answer().get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof CommitFailed failed) {
                throw new CommitFailed(failed.getMessage(), failed);
            }
            throw new CommitFailed("the enqueue failed", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CommitFailed("interrupted while waiting for the commit", e);
        }
    }

    private void run() {
        while (running) {
            List<Request> group;
            try {
                group = gather();
            } catch (InterruptedException e) {
                return;
            }
            if (!group.isEmpty()) {
                commit(group);
            }
        }
    }

    /**
     * The next group: the first request to come, and those that follow within the window; empty
     * when the node stops.
     */
    private List<Request> gather() throws InterruptedException {
        List<Request> group = new ArrayList<>();
        gathering.lockInterruptibly();
        try {
            Request first;
            // Not interrupted to stop: an interrupt could reach a commit under way and fail it.
            while ((first = waiting.poll(100, TimeUnit.MILLISECONDS)) == null) {
                if (!running) {
                    return group;
                }
            }
            group.add(first);
            long deadline = System.nanoTime() + windowNanos;
            while (group.size() < maxGroup) {
                waiting.drainTo(group, maxGroup - group.size());
                if (group.size() >= maxGroup) {
                    break;
                }
                long left = deadline - System.nanoTime();
                Request next = left > 0 ? waiting.poll(left, TimeUnit.NANOSECONDS) : null;
                if (next == null) {
                    break;
                }
                group.add(next);
            }
        } finally {
            gathering.unlock();
        }
        return group;
    }

    private void commit(List<Request> group) {
        List<Enqueued> answers;
        try {
            answers = store.enqueueGroup(group.stream().map(Request::task).toList());
        } catch (RuntimeException | Error e) {
            // An Error too: a request left unanswered would wait for ever.
            log.warn(
                    "a group of {} enqueues failed to commit; each is answered as not stored: {}",
                    group.size(),
                    e.toString());
            CommitFailed failed =
                    new CommitFailed(
                            "the commit of this task's group failed; nothing was stored", e);
            group.forEach(r -> r.answer().completeExceptionally(failed));
            return;
        }
        for (int i = 0; i < group.size(); i++) {
            group.get(i).answer().complete(answers.get(i));
        }
    }

    private static CommitFailed stopping() {
        return new CommitFailed("the node is stopping; nothing was stored", null);
    }

    /**
     * Lets the groups being committed finish; requests still waiting for a group are answered as
     * not stored.
     */
    @Override
    public void close() {
        running = false;
        for (Thread t : committers) {
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        List<Request> left = new ArrayList<>();
        waiting.drainTo(left);
        left.forEach(r -> r.answer().completeExceptionally(stopping()));
    }
}
