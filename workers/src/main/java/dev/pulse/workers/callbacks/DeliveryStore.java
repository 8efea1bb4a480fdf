package dev.pulse.workers.callbacks;

import dev.pulse.executors.TraceContext;
import dev.pulse.workers.db.FixedPlans;
import dev.pulse.workers.db.ResumedScans;
import dev.pulse.workers.tasks.HistoryPartitions;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.statement.Query;

/**
 * The dispatcher's view of the outbox. A claim pushes {@code next_attempt_at} forward by a lease,
 * so a delivery whose sender died is picked up again once the lease passes.
 */
final class DeliveryStore {

    private static final String CLAIM = claimWhere("");

    /**
     * The same, scanning the due index only from where the last full claim stopped ({@link
     * ResumedScans}).
     */
    private static final String CLAIM_RESUMING =
            claimWhere("AND next_attempt_at >= CAST(:after AS timestamptz)");

    /**
     * Returns each row's due time before the claim pushed it forward: where a next claim may
     * resume.
     */
    private static String claimWhere(String resume) {
        return """
                WITH due AS MATERIALIZED (
                    SELECT id, next_attempt_at FROM callback_deliveries
                     WHERE state = 'pending' AND next_attempt_at <= now() %s
                     ORDER BY next_attempt_at
                     LIMIT :limit
                       FOR UPDATE SKIP LOCKED
                )
                UPDATE callback_deliveries d
                   SET attempts = d.attempts + 1,
                       next_attempt_at = now() + make_interval(secs => :lease_seconds)
                  FROM due
                 WHERE d.id = due.id
                RETURNING d.id, d.task_id, d.url, d.body, d.attempts, due.next_attempt_at AS was_due_at,
                          d.trace_parent, d.trace_state
                """
                .formatted(resume);
    }

    /**
     * Many delivery outcomes in one statement, each as the dispatcher decided it: delivered, or
     * failed (pending again after its backoff, or dead after its last attempt). Only rows still
     * pending change. Only the day partitions (V26) between the batch's first and last id are read.
     */
    static final String RECORD_MANY =
            """
            UPDATE callback_deliveries c
               SET state = d.state,
                   delivered_at = CASE WHEN d.state = 'delivered' THEN now() ELSE c.delivered_at END,
                   next_attempt_at = CASE WHEN d.state = 'delivered' THEN c.next_attempt_at
                                          ELSE now() + make_interval(secs => d.retry_seconds) END,
                   last_status = d.status,
                   last_error = d.error
              FROM unnest(CAST(:ids AS uuid[]), CAST(:states AS text[]), CAST(:statuses AS integer[]),
                          CAST(:errors AS text[]), CAST(:retry_seconds AS float8[]))
                   AS d (id, state, status, error, retry_seconds)
             WHERE c.id = ANY(CAST(:ids AS uuid[])) AND %s
               AND c.id = d.id AND c.state = 'pending'
            """
                    .formatted(HistoryPartitions.withinIds("c.id", "CAST(:ids AS uuid[])"));

    /**
     * Deliveries claimed but never sent (their node is stopping): due again at once, their attempt
     * not counted.
     */
    private static final String RELEASE =
            """
            UPDATE callback_deliveries SET attempts = attempts - 1, next_attempt_at = now()
             WHERE id = ANY(:ids) AND state = 'pending'
            """;

    /**
     * How one delivery attempt ended, to be recorded with others by {@link #recordAll}: the
     * delivery's new {@code state} (delivered, pending or dead) and, unless delivered, when it is
     * due again.
     */
    record Outcome(UUID id, String state, Integer status, String error, double retrySeconds) {

        static Outcome delivered(UUID id, int status) {
            return new Outcome(id, "delivered", status, null, 0);
        }

        /**
         * @param dead whether that was its last attempt
         */
        static Outcome failed(
                UUID id, boolean dead, Integer status, String error, Duration retryIn) {
            return new Outcome(
                    id, dead ? "dead" : "pending", status, error, retryIn.toMillis() / 1000.0);
        }
    }

    /**
     * Under a backlog, the longest the dispatcher goes on resuming before it scans the due index
     * from its start.
     */
    static final Duration RESCAN_EVERY = Duration.ofMillis(50);

    private final Jdbi jdbi;
    private final ResumedScans<OffsetDateTime> scans;

    DeliveryStore(Jdbi jdbi) {
        this(jdbi, RESCAN_EVERY);
    }

    DeliveryStore(Jdbi jdbi, Duration rescanEvery) {
        this.jdbi = jdbi;
        this.scans = new ResumedScans<>(rescanEvery);
    }

    /** A claimed delivery and when it was due, in the due index's order. */
    private record Claimed(CallbackDelivery delivery, OffsetDateTime wasDueAt) {}

    /**
     * Claims up to {@code limit} due deliveries, holding each for {@code lease}. Rows due at the
     * same instant as the resume point are scanned again (the claim pushed the ones it took
     * forward), so none is skipped.
     */
    List<CallbackDelivery> claim(int limit, Duration lease) {
        return jdbi
                .withHandle(
                        h ->
                                scans.claim(
                                        limit,
                                        (after, n) ->
                                                claim(
                                                        h.createQuery(CLAIM_RESUMING)
                                                                .bind("after", after),
                                                        n,
                                                        lease),
                                        n -> claim(h.createQuery(CLAIM), n, lease),
                                        Claimed::wasDueAt))
                .stream()
                .map(Claimed::delivery)
                .toList();
    }

    private static List<Claimed> claim(Query claim, int limit, Duration lease) {
        return claim.bind("limit", limit)
                .bind("lease_seconds", (double) lease.toSeconds())
                .map(
                        (rs, ctx) ->
                                new Claimed(
                                        new CallbackDelivery(
                                                rs.getObject("id", UUID.class),
                                                rs.getObject("task_id", UUID.class),
                                                rs.getString("url"),
                                                rs.getString("body"),
                                                rs.getInt("attempts"),
                                                TraceContext.of(
                                                        rs.getString("trace_parent"),
                                                        rs.getString("trace_state"))),
                                        rs.getObject("was_due_at", OffsetDateTime.class)))
                .list();
    }

    void release(List<CallbackDelivery> neverSent) {
        if (!neverSent.isEmpty()) {
            jdbi.useHandle(
                    h ->
                            h.createUpdate(RELEASE)
                                    .bind(
                                            "ids",
                                            neverSent.stream()
                                                    .map(CallbackDelivery::id)
                                                    .toArray(UUID[]::new))
                                    .execute());
        }
    }

    /** Records many outcomes in one statement (and one commit). */
    void recordAll(List<Outcome> outcomes) {
        if (outcomes.isEmpty()) {
            return;
        }
        jdbi.useTransaction(
                h ->
                        FixedPlans.forThisTransaction(h)
                                .createUpdate(RECORD_MANY)
                                .bind(
                                        "ids",
                                        outcomes.stream().map(Outcome::id).toArray(UUID[]::new))
                                .bind(
                                        "states",
                                        outcomes.stream()
                                                .map(Outcome::state)
                                                .toArray(String[]::new))
                                .bind(
                                        "statuses",
                                        outcomes.stream()
                                                .map(Outcome::status)
                                                .toArray(Integer[]::new))
                                .bind(
                                        "errors",
                                        outcomes.stream()
                                                .map(Outcome::error)
                                                .toArray(String[]::new))
                                .bind(
                                        "retry_seconds",
                                        outcomes.stream()
                                                .map(Outcome::retrySeconds)
                                                .toArray(Double[]::new))
                                .execute());
    }
}
