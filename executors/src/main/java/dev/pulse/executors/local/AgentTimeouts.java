package dev.pulse.executors.local;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;

/**
 * Interrupts in-JVM agents that outlive their timeout. One daemon thread sweeps the running agents
 * every {@link #TICK}, so a timeout fires up to one tick late; a scheduled task per run would
 * instead wake a timer thread for every short agent run, which at thousands of runs a second costs
 * more than the runs themselves. With nothing running the thread parks.
 */
final class AgentTimeouts implements AutoCloseable {

    static final Duration TICK = Duration.ofMillis(50);

    private final Set<Watch> running = ConcurrentHashMap.newKeySet();
    private final Thread timer;
    private volatile boolean idle;
    private volatile boolean closed;

    AgentTimeouts() {
        timer = new Thread(this::sweep, "pulse-agent-timeouts");
        timer.setDaemon(true);
        timer.start();
    }

    /**
     * Starts watching the calling thread; the caller must {@link Watch#stop()} it when the agent
     * returns.
     */
    Watch start(Duration timeout) {
        Watch watch = new Watch(Thread.currentThread(), System.nanoTime() + timeout.toNanos());
        running.add(watch);
        if (idle) {
            LockSupport.unpark(timer);
        }
        return watch;
    }

    private void sweep() {
        while (!closed) {
            if (running.isEmpty()) {
                idle = true;
                if (running
                        .isEmpty()) { // a watch added before idle was set would not have woken us
                    LockSupport.park(this);
                }
                idle = false;
                continue;
            }
            long now = System.nanoTime();
            for (Watch watch : running) {
                if (now - watch.deadline >= 0) {
                    watch.expire();
                }
            }
            LockSupport.parkNanos(this, TICK.toNanos());
        }
    }

    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(timer);
    }

    /** One agent run on one thread, interrupted once its deadline passes unless stopped first. */
    final class Watch {

        private final Thread thread;
        private final long deadline;
        private boolean stopped;
        private boolean expired;

        private Watch(Thread thread, long deadline) {
            this.thread = thread;
            this.deadline = deadline;
        }

        private synchronized void expire() {
            if (!stopped && !expired) {
                expired = true;
                thread.interrupt();
            }
        }

        /**
         * Stops watching; returns whether the deadline passed first. The interrupt a timeout sent
         * is cleared here, so it never reaches whatever the thread does next.
         */
        boolean stop() {
            running.remove(this);
            synchronized (this) {
                stopped = true;
                if (expired) {
                    Thread.interrupted();
                }
                return expired;
            }
        }
    }
}
