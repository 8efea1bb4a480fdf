package dev.pulse.workers.callbacks;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;

/**
 * A limit of requests in flight per callback destination (scheme, host and port), kept only while
 * some sender uses it: a destination's entry goes as soon as no sender holds or waits for it, so a
 * node that has called back to millions of hosts keeps entries only for those it is calling now.
 */
final class DestinationLimits {

    /**
     * A destination's permits and how many senders hold or wait for one; {@code users} only changes
     * inside the map's compute.
     */
    private static final class Entry {
        final Semaphore permits;
        int users;

        Entry(int permits) {
            this.permits = new Semaphore(permits);
        }
    }

    private final int perDestination;
    private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();

    DestinationLimits(int perDestination) {
        this.perDestination = perDestination;
    }

    /**
     * Runs {@code work} once fewer than the limit of others are running for {@code destination}.
     */
    void run(String destination, Runnable work) throws InterruptedException {
        Entry entry =
                entries.compute(
                        destination,
                        (key, existing) -> {
                            Entry e = existing == null ? new Entry(perDestination) : existing;
                            e.users++;
                            return e;
                        });
        try {
            entry.permits.acquire();
            try {
                work.run();
            } finally {
                entry.permits.release();
            }
        } finally {
            entries.compute(destination, (key, e) -> --e.users == 0 ? null : e);
        }
    }

    /** How many destinations have an entry now (those in use). */
    int tracked() {
        return entries.size();
    }
}
