package dev.pulse.workers.testing;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.db.FixedPlans;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jdbi.v3.core.Jdbi;

/**
 * The plan a statement gets under {@link FixedPlans}, and the check that it stays bounded by its
 * batch. Meant for a database whose tables were just analyzed empty: the statistics on which a
 * generic plan goes wrong (a sequential scan, or a nested loop over a whole index, kept while the
 * table grows).
 */
public final class GenericPlans {

    private static final Pattern NAMED_PARAMETER = Pattern.compile("(?<![:\\w]):(\\w+)");

    private GenericPlans() {}

    /** Asserts the statement's generic plan reaches every table through an index condition. */
    public static void assertBoundedByItsBatch(Jdbi jdbi, String name, String sql) {
        List<String> plan = of(jdbi, sql);
        assertThat(plan)
                .as("generic plan of the %s", name)
                .noneMatch(line -> line.contains("Seq Scan"));
        assertThat(plan)
                .as("generic plan of the %s", name)
                .noneMatch(line -> line.contains("Nested Loop"));
        for (int i = 0; i < plan.size(); i++) {
            if (plan.get(i).contains("Index Scan") || plan.get(i).contains("Index Only Scan")) {
                // An index scan without a condition reads the whole index: as slow as the table's.
                assertThat(plan.subList(i + 1, Math.min(i + 3, plan.size())))
                        .as("generic plan of the %s, at %s", name, plan.get(i).trim())
                        .anyMatch(line -> line.contains("Index Cond"));
            }
        }
    }

    /** The statement's generic plan under {@link FixedPlans}, its named parameters left unknown. */
    public static List<String> of(Jdbi jdbi, String sql) {
        Map<String, String> positions = new LinkedHashMap<>();
        Matcher m = NAMED_PARAMETER.matcher(sql);
        StringBuilder positional = new StringBuilder();
        while (m.find()) {
            String position =
                    positions.computeIfAbsent(m.group(1), k -> "$" + (positions.size() + 1));
            m.appendReplacement(positional, Matcher.quoteReplacement(position));
        }
        m.appendTail(positional);
        List<String> nulls = new ArrayList<>();
        positions.forEach((k, v) -> nulls.add("NULL"));
        return jdbi.inTransaction(
                h -> {
                    FixedPlans.forThisTransaction(h);
                    h.execute("PREPARE generic_plan AS " + positional);
                    List<String> plan =
                            h.createQuery(
                                            "EXPLAIN (COSTS OFF) EXECUTE generic_plan"
                                                    + (nulls.isEmpty()
                                                            ? ""
                                                            : "(" + String.join(", ", nulls) + ")"))
                                    .mapTo(String.class)
                                    .list();
                    h.execute("DEALLOCATE generic_plan");
                    return plan;
                });
    }
}
