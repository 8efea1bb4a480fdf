package dev.pulse.workers.db;

import org.jdbi.v3.core.Handle;

/**
 * Gives the queue's hot statements one plan per connection that no table statistics can spoil.
 *
 * <p>The claim, the finish and the attempt rows run hundreds of times a second. Planned at every
 * execution (PostgreSQL's own choice for the claim, {@link PlanEachTime} for the completer),
 * parsing and planning took about a tenth of the database's time (docs/benchmarks.md, sixth
 * session). A generic plan is made once per connection, but from the statistics of that moment:
 * on a fresh database whose tables were just analyzed empty, that is a sequential scan, kept
 * while the table grows (the quadratic plan {@link PlanEachTime} was written against). So for the
 * rest of the transaction this turns the generic plan on and sequential scans and nested loops
 * off: what is left are index lookups bounded by the batch, whatever the statistics say. The
 * statements are written for it: each reaches its table through an index condition on the batch's
 * keys ({@code id = ANY(...)}), not only through a join. {@code HotPathPlansTest} checks the plans.
 */
public final class FixedPlans {

    private static final String FOR_THIS_TRANSACTION = """
            SELECT set_config('plan_cache_mode', 'force_generic_plan', true) AS plan_cache_mode,
                   set_config('enable_seqscan', 'off', true) AS enable_seqscan,
                   set_config('enable_nestloop', 'off', true) AS enable_nestloop""";

    private FixedPlans() {
    }

    /** Until the current transaction ends (so a transaction-pooling PgBouncer keeps it to this client). */
    public static void forThisTransaction(Handle h) {
        h.createQuery(FOR_THIS_TRANSACTION).mapToMap().one();
    }
}
