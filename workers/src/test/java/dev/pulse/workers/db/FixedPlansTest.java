package dev.pulse.workers.db;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.testing.QueueKit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The settings reach the statement they are sent with, and no further (a pooled connection goes on
 * to other work).
 */
class FixedPlansTest {

    @RegisterExtension final QueueKit kit = new QueueKit();

    @Test
    void settingsSentAheadApplyToTheirQueryAndEndWithIt() {
        String during =
                "SELECT current_setting('plan_cache_mode') || ' ' || current_setting('enable_seqscan')"
                        + " || ' ' || current_setting('enable_nestloop')";

        kit.database
                .jdbi()
                .useHandle(
                        h -> {
                            assertThat(
                                            FixedPlans.rows(
                                                    h.createQuery(FixedPlans.ahead(during)),
                                                    (rs, ctx) -> rs.getString(1)))
                                    .containsExactly("force_generic_plan off off");
                            assertThat(h.createQuery(during).mapTo(String.class).one())
                                    .isEqualTo("auto on on");
                        });
    }

    @Test
    void aStatementSentUnflushedCommitsWithoutWaitingForTheDiskAndOnlyIt() {
        String during =
                "SELECT current_setting('synchronous_commit') || ' ' || current_setting('enable_seqscan')";

        kit.database
                .jdbi()
                .useHandle(
                        h -> {
                            // the test databases commit without waiting; a server's default waits
                            h.execute("SET synchronous_commit = on");
                            assertThat(
                                            FixedPlans.rows(
                                                    h.createQuery(
                                                            FixedPlans.aheadUnflushed(during)),
                                                    (rs, ctx) -> rs.getString(1)))
                                    .containsExactly("off off");
                            assertThat(
                                            FixedPlans.rows(
                                                    h.createQuery(FixedPlans.ahead(during)),
                                                    (rs, ctx) -> rs.getString(1)))
                                    .containsExactly("on off");
                            assertThat(h.createQuery(during).mapTo(String.class).one())
                                    .isEqualTo("on on");
                            h.execute("RESET synchronous_commit");
                        });
    }

    @Test
    void settingsForATransactionEndWithIt() {
        kit.database
                .jdbi()
                .useHandle(
                        h -> {
                            h.useTransaction(
                                    t -> {
                                        FixedPlans.forThisTransaction(t);
                                        assertThat(
                                                        t.createQuery(
                                                                        "SELECT current_setting('enable_seqscan')")
                                                                .mapTo(String.class)
                                                                .one())
                                                .isEqualTo("off");
                                    });
                            assertThat(
                                            h.createQuery(
                                                            "SELECT current_setting('enable_seqscan')")
                                                    .mapTo(String.class)
                                                    .one())
                                    .isEqualTo("on");
                        });
    }
}
