package dev.pulse.workers.tasks;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import java.util.stream.Collectors;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.statement.Query;

/**
 * The statements behind task lists, written so that each reads only what its page needs however
 * long the history is (docs/architecture.md, "Lists on a big history"):
 *
 * <ul>
 *   <li>newest first is id order (UUIDv7), and "created between" an id range;
 *   <li>states are literals, never parameters, so that the planner matches each to the partial
 *       index holding it;
 *   <li>a filter on agent, schedule or concurrency key reads one branch per finished state, each in
 *       id order from an index on (column, state, id) over finished rows (V22), and one branch of
 *       the unfinished rows (few: the hot queue), merged in id order (a Merge Append) and stopped
 *       at the page's end;
 *   <li>text is searched in at most {@link #TEXT_WINDOW} tasks per page (a bounded scan, newest
 *       first), never in the whole history.
 * </ul>
 */
final class TaskListing {

    /** How many tasks (of those the other filters match) a text search reads at most per page. */
    static final int TEXT_WINDOW = 5_000;

    /** The states of tasks_claimable's rows. */
    private static final Set<TaskState> WAITING = EnumSet.of(TaskState.SCHEDULED, TaskState.QUEUED);

    private static final String TEXT_MATCH =
            "(strpos(lower(input::text), :text) > 0 OR strpos(lower(metadata::text), :text) > 0)";

    /**
     * Rows by a set of ids ({@code w.ids}, from a CTE {@code w}), on only the partitions of tasks
     * (V23: by when a task finished) that can hold them: a task cannot finish before it was
     * created, and its id (UUIDv7, {@link TaskIds}) says when that was, so no partition whose range
     * ends before the oldest id's time can hold one. Without this each id was looked up in every
     * partition's primary key (a text search's 5,000 ids in 14 partitions: 70,000 probes). A day is
     * left for the skew between a node's clock, which made the id, and the database's, which stamps
     * {@code finished_at}.
     */
    private static final String BY_IDS =
            """
            id = ANY(CAST((SELECT ids FROM w) AS uuid[]))
               AND COALESCE(finished_at, 'infinity'::timestamptz) >= (
                   SELECT to_timestamp(('x' || substr(replace(CAST(u AS text), '-', ''), 1, 12))::bit(48)::bigint / 1000.0)
                          - interval '1 day'
                     FROM unnest((SELECT ids FROM w)) AS u
                    ORDER BY u LIMIT 1)""";

    private final String sql;
    private final Map<String, Object> values;

    private TaskListing(String sql, Map<String, Object> values) {
        this.sql = sql;
        this.values = values;
    }

    /**
     * {@code columns} of the tasks {@code filter} matches (its text aside) that are in one of
     * {@code states} (null: any), newest first, at most {@code limit}.
     */
    static TaskListing rows(String columns, TaskFilter filter, List<TaskState> states, int limit) {
        Map<String, Object> values = new HashMap<>();
        String ids = select("id", filter, states, values, ":limit");
        values.put("limit", limit);
        // The ids first, then the rows by id: the ids come from index-only scans of the indexes
        // that hold each branch's rows, which no statistics make look dearer than reading the
        // primary key newest first and filtering (the planner's choice for whole rows of a common
        // agent: it read past every newer task of other agents).
        return new TaskListing(
                columns.equals("id")
                        ? ids
                        : "WITH w AS MATERIALIZED (SELECT ARRAY("
                                + ids
                                + ") AS ids) SELECT "
                                + columns
                                + " FROM tasks WHERE "
                                + BY_IDS
                                + " ORDER BY id DESC",
                values);
    }

    /**
     * Whole rows holding the filter's text among the next {@link #TEXT_WINDOW} tasks the other
     * filters match, newest first, at most {@code limit}; the scan stops once the page is full.
     */
    static TaskListing search(TaskFilter filter, List<TaskState> states, int limit) {
        Map<String, Object> values = new HashMap<>();
        String window = select("id", filter, states, values, ":window");
        values.put("window", TEXT_WINDOW);
        values.put("text", filter.text().toLowerCase(Locale.ROOT));
        values.put("limit", limit);
        // The window's ids from the indexes, then its rows newest first through the primary key,
        // stopped once the page is full.
        return new TaskListing(
                "WITH w AS MATERIALIZED (SELECT ARRAY("
                        + window
                        + ") AS ids) SELECT * FROM tasks WHERE "
                        + BY_IDS
                        + " AND "
                        + TEXT_MATCH
                        + " ORDER BY id DESC LIMIT :limit",
                values);
    }

    /**
     * How many tasks a text search of this filter read ({@code scanned}, at most {@link
     * #TEXT_WINDOW}) and the oldest of them ({@code last}): where the next window starts.
     */
    static TaskListing searchedWindow(TaskFilter filter, List<TaskState> states) {
        Map<String, Object> values = new HashMap<>();
        String window = select("id", filter, states, values, ":window");
        values.put("window", TEXT_WINDOW);
        return new TaskListing(
                "WITH w AS ("
                        + window
                        + ") SELECT (SELECT count(*) FROM w) AS scanned,"
                        + " (SELECT id FROM w ORDER BY id LIMIT 1) AS last",
                values);
    }

    Query query(Handle h) {
        Query query = h.createQuery(sql);
        values.forEach(query::bind);
        return query;
    }

    @Override
    public String toString() {
        return sql;
    }

    private static String select(
            String columns,
            TaskFilter filter,
            List<TaskState> states,
            Map<String, Object> values,
            String limit) {
        Set<TaskState> wanted = EnumSet.allOf(TaskState.class);
        if (states != null) {
            wanted.retainAll(states);
        }
        if (filter.state() != null) {
            wanted.retainAll(Set.of(filter.state()));
        }
        StringJoiner shared = new StringJoiner(" AND ");
        condition(shared, values, "agent = :agent", "agent", filter.agent());
        condition(shared, values, "schedule_name = :schedule", "schedule", filter.schedule());
        condition(
                shared,
                values,
                "concurrency_key = :concurrency_key",
                "concurrency_key",
                filter.concurrencyKey());
        boolean narrowed = shared.length() > 0;
        condition(shared, values, "id >= :from_id", "from_id", TaskIds.floor(filter.createdFrom()));
        condition(shared, values, "id < :to_id", "to_id", TaskIds.floor(filter.createdTo()));
        condition(shared, values, "id < :before", "before", filter.before());
        if (wanted.isEmpty()) {
            return "SELECT " + columns + " FROM tasks WHERE false LIMIT " + limit;
        }
        List<String> branches = new ArrayList<>();
        if (wanted.size() == TaskState.values().length && !narrowed) {
            // Every state, no column filter: the primary key in id order.
            branches.add("");
        } else {
            // One branch per partial index: the claimable rows' (scheduled and queued), the
            // running rows', and each finished state's.
            Set<TaskState> waiting = EnumSet.copyOf(wanted);
            waiting.retainAll(WAITING);
            if (!waiting.isEmpty()) {
                branches.add(inStates(waiting));
            }
            for (TaskState state : wanted) {
                if (!WAITING.contains(state)) {
                    branches.add(inStates(Set.of(state)));
                }
            }
        }
        if (branches.size() == 1) {
            return "SELECT "
                    + columns
                    + " FROM tasks"
                    + where(branches.get(0), shared)
                    + " ORDER BY id DESC LIMIT "
                    + limit;
        }
        // Each branch ordered and limited on its own, so that the planner merges them in id order
        // (a Merge Append, which reads each branch only as far as the page needs). Without the
        // branches' own ORDER BY and LIMIT, PostgreSQL 15 flattens the UNION ALL into one append,
        // reads every branch whole and sorts (14 s for an agent with 5,000,000 finished tasks).
        return "SELECT "
                + columns
                + " FROM ("
                + branches.stream()
                        .map(
                                b ->
                                        "(SELECT "
                                                + columns
                                                + " FROM tasks"
                                                + where(b, shared)
                                                + " ORDER BY id DESC LIMIT "
                                                + limit
                                                + ")")
                        .collect(Collectors.joining(" UNION ALL "))
                + ") t ORDER BY id DESC LIMIT "
                + limit;
    }

    private static String inStates(Set<TaskState> states) {
        if (states.size() == 1) {
            return "state = '" + states.iterator().next().wire() + "'";
        }
        return states.stream()
                .map(s -> "'" + s.wire() + "'")
                .collect(Collectors.joining(", ", "state IN (", ")"));
    }

    private static String where(String stateCondition, StringJoiner shared) {
        StringJoiner all = new StringJoiner(" AND ", " WHERE ", "").setEmptyValue("");
        if (!stateCondition.isEmpty()) {
            all.add(stateCondition);
        }
        if (shared.length() > 0) {
            all.add(shared.toString());
        }
        return all.toString();
    }

    private static void condition(
            StringJoiner where, Map<String, Object> values, String sql, String name, Object value) {
        if (value != null) {
            where.add(sql);
            values.put(name, value);
        }
    }
}
