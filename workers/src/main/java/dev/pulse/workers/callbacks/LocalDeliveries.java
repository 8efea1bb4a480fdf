package dev.pulse.workers.callbacks;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Deliveries written on this node that its own dispatcher sends straight from memory. The outbox
 * writes them already claimed (attempt 1, the claim lease running from the insert) and hands them
 * over here once their transaction commits, which spares each the dispatcher's claim: a statement,
 * a row update and a dead entry in the due index.
 *
 * <p>Bounded by {@code capacity}: past it the outbox writes deliveries due, for a claim as before.
 * One that waited here past half its lease is dropped and left to a claim once the lease passes, so
 * no node can claim it while this one may still send it. On a clean shutdown the dispatcher makes
 * those still waiting due again; if this node dies, any node claims them once their lease passes:
 * at least once, as before.
 */
public final class LocalDeliveries {

    private record Waiting(CallbackDelivery delivery, long handedOverAtMillis) {}

    private final int capacity;
    private final Duration lease;
    private final Clock clock;
    private final ConcurrentLinkedQueue<Waiting> waiting = new ConcurrentLinkedQueue<>();

    /**
     * At least how many wait (the queue's own size() walks it): counted before a hand-over
     * publishes its deliveries and uncounted after a take removes one, so it never falls below the
     * number a concurrent take can see.
     */
    private final AtomicInteger size = new AtomicInteger();

    private volatile boolean open = true;

    /**
     * @param lease how long a delivery written here is held from other nodes' claims: the
     *     dispatcher's claim lease
     */
    public LocalDeliveries(int capacity, Duration lease, Clock clock) {
        this.capacity = capacity;
        this.lease = lease;
        this.clock = clock;
    }

    /** How many deliveries may wait in memory per sender of the dispatcher. */
    static final int WAITING_PER_SENDER = 4;

    /**
     * For a node whose dispatcher has {@code senders} senders and this request time limit (its
     * claim lease follows from it).
     */
    public static LocalDeliveries forDispatcher(int senders, Duration requestTimeout, Clock clock) {
        return new LocalDeliveries(
                WAITING_PER_SENDER * senders, CallbackDispatcher.claimLease(requestTimeout), clock);
    }

    /** For a node that runs no dispatcher: every delivery is written due, for a claim. */
    public static LocalDeliveries none() {
        return new LocalDeliveries(0, Duration.ZERO, Clock.systemUTC());
    }

    /** How many more deliveries may be handed over now (none once closed). */
    int room() {
        return open ? Math.max(0, capacity - size.get()) : 0;
    }

    Duration lease() {
        return lease;
    }

    /** Hands over deliveries that have just been committed as claimed. */
    void handOver(List<CallbackDelivery> deliveries) {
        long now = clock.millis();
        size.addAndGet(deliveries.size());
        deliveries.forEach(d -> waiting.add(new Waiting(d, now)));
    }

    /**
     * Up to {@code max} deliveries, oldest first; those that waited past half their lease are
     * dropped.
     */
    List<CallbackDelivery> take(int max) {
        List<CallbackDelivery> taken = new ArrayList<>();
        long staleBefore = clock.millis() - lease.toMillis() / 2;
        Waiting next;
        while (taken.size() < max && (next = waiting.poll()) != null) {
            size.decrementAndGet();
            if (next.handedOverAtMillis() >= staleBefore) {
                taken.add(next.delivery());
            }
        }
        return taken;
    }

    /**
     * Takes no more; returns what still waits, never sent, for the dispatcher to make due again.
     */
    List<CallbackDelivery> close() {
        open = false;
        List<CallbackDelivery> left = new ArrayList<>();
        Waiting next;
        while ((next = waiting.poll()) != null) {
            size.decrementAndGet();
            left.add(next.delivery());
        }
        return left;
    }
}
