package dev.pulse.workers.db;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Concurrent calls of one kind, gathered into groups that are each served by one statement (or one
 * transaction) instead of one per call: what a request saves is its own connection checkout, round
 * trip and, for writes, its own commit and WAL flush, shared with the requests beside it. Each
 * caller returns only once its group has been served, with its own answer.
 *
 * <p>A group waits for more calls at most {@code window} after its first (zero: it takes only the
 * calls already waiting, so a lone call waits for nothing, and calls that arrive while a group is
 * being served form the next one), or until it is full. Its gathering thread sleeps through the
 * window and then takes every call that came, instead of waking for each. Gathering is done by one
 * server thread at a time, so a group is never split between two; the other threads meanwhile serve
 * the groups gathered before.
 *
 * <p>A group whose service fails fails every call in it ({@link Failed}), and the service must then
 * have written nothing (one transaction).
 *
 * @param <Q> a call's request
 * @param <A> a call's answer
 */
public final class CallGroups<Q, A> implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(CallGroups.class);

    /** The call's group was not served (its cause says why), or the node is stopping. */
    public static final class Failed extends RuntimeException {
        public Failed(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private record Call<Q, A>(Q request, CompletableFuture<A> answer) {}

    private final String name;
    private final Function<List<Q>, List<A>> serve;
    private final long windowNanos;
    private final int maxGroup;
    private final BlockingQueue<Call<Q, A>> waiting = new LinkedBlockingQueue<>();
    private final ReentrantLock gathering = new ReentrantLock();
    // The thread whose group's window is open, parked until it ends, and how many calls it holds;
    // a call that fills the group wakes it.
    private volatile Thread gatherer;
    private volatile int gathered;
    private final List<Thread> servers = new ArrayList<>();
    private volatile boolean running = true;

    /**
     * @param name what the groups are, for thread names and logs ("enqueue")
     * @param serve answers a group's requests, in their order, in one transaction
     * @param window how long a group waits for more calls after its first
     * @param maxGroup a group this size is served at once
     * @param threads threads serving groups (each holds a connection while it serves)
     */
    public CallGroups(
            String name,
            Function<List<Q>, List<A>> serve,
            Duration window,
            int maxGroup,
            int threads) {
        this.name = name;
        this.serve = serve;
        this.windowNanos = window.toNanos();
        this.maxGroup = maxGroup;
        for (int i = 0; i < threads; i++) {
            Thread t = new Thread(this::run, "pulse-" + name + "-group-" + i);
            t.setDaemon(true);
            this.servers.add(t);
            t.start();
        }
    }

    /**
     * {@code request}'s answer, once the group it joined has been served.
     *
     * @throws Failed when its group was not served, or the node is stopping
     */
    public A call(Q request) {
        Call<Q, A> call = new Call<>(request, new CompletableFuture<>());
        if (!running) {
            throw stopping();
        }
        waiting.add(call);
        if (waiting.size() + gathered >= maxGroup) {
            Thread full = gatherer;
            if (full != null) {
                LockSupport.unpark(full);
            }
        }
        if (!running && waiting.remove(call)) {
            // close() may have drained the queue before this call was added; a call a server
            // already took is answered by its group.
            call.answer().completeExceptionally(stopping());
        }
        try {
            return call.answer().get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Failed failed) {
                throw new Failed(failed.getMessage(), failed.getCause());
            }
            throw new Failed("the " + name + " failed", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Failed("interrupted while waiting for the " + name, e);
        }
    }

    private void run() {
        while (running) {
            List<Call<Q, A>> group;
            try {
                group = gather();
            } catch (InterruptedException e) {
                return;
            }
            if (!group.isEmpty()) {
                serve(group);
            }
        }
    }

    /**
     * The next group: the first call to come, and those that follow within the window; empty when
     * the node stops.
     */
    private List<Call<Q, A>> gather() throws InterruptedException {
        List<Call<Q, A>> group = new ArrayList<>();
        gathering.lockInterruptibly();
        try {
            Call<Q, A> first;
            // Not interrupted to stop: an interrupt could reach a group being served and fail it.
            while ((first = waiting.poll(100, TimeUnit.MILLISECONDS)) == null) {
                if (!running) {
                    return group;
                }
            }
            group.add(first);
            long deadline = System.nanoTime() + windowNanos;
            gatherer = Thread.currentThread();
            try {
                while (true) {
                    waiting.drainTo(group, maxGroup - group.size());
                    gathered = group.size();
                    long left = deadline - System.nanoTime();
                    if (group.size() >= maxGroup
                            || left <= 0
                            || Thread.currentThread().isInterrupted()) {
                        break;
                    }
                    if (group.size() + waiting.size() >= maxGroup) {
                        // Looked at after publishing the count: a call added before it was
                        // published is seen here, one added after sees it and wakes this thread.
                        continue;
                    }
                    // Parked rather than waiting on the queue: a call arriving in the window then
                    // wakes no thread (waiting for each took a context switch per call); only a
                    // call that fills the group unparks this one (see call).
                    LockSupport.parkNanos(this, left);
                }
            } finally {
                gatherer = null;
                gathered = 0;
            }
        } finally {
            gathering.unlock();
        }
        return group;
    }

    private void serve(List<Call<Q, A>> group) {
        List<A> answers;
        try {
            answers = serve.apply(group.stream().map(Call::request).toList());
        } catch (RuntimeException | Error e) {
            // An Error too: a call left unanswered would wait for ever.
            log.warn("a group of {} {} calls failed: {}", group.size(), name, e.toString());
            Failed failed = new Failed("the " + name + " of this call's group failed", e);
            group.forEach(c -> c.answer().completeExceptionally(failed));
            return;
        }
        for (int i = 0; i < group.size(); i++) {
            group.get(i).answer().complete(answers.get(i));
        }
    }

    private Failed stopping() {
        return new Failed("the node is stopping; the " + name + " was not done", null);
    }

    /** Lets the groups being served finish; calls still waiting for a group fail. */
    @Override
    public void close() {
        running = false;
        for (Thread t : servers) {
            try {
                t.join(10_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        List<Call<Q, A>> left = new ArrayList<>();
        waiting.drainTo(left);
        left.forEach(c -> c.answer().completeExceptionally(stopping()));
    }
}
