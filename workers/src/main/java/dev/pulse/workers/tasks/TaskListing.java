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
 *       first), never in the whole history, on the rows those branches read.
 * </ul>
 */
final class TaskListing {

    /** How many tasks (of those the other filters match) a text search reads at most per page. */
    static final int TEXT_WINDOW = 5_000;

    /** The states of tasks_claimable's rows. */
    private static final Set<TaskState> WAITING = EnumSet.of(TaskState.SCHEDULED, TaskState.QUEUED);

    /** The states of the finished rows' partial indexes. */
    private static final Set<TaskState> FINISHED =
            EnumSet.of(TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED);

    private static final String IN_QUEUE = HistoryPartitions.inQueue("tasks");

    private static final String TEXT_MATCH =
            "(strpos(lower(input::text), :text) > 0 OR strpos(lower(metadata::text), :text) > 0)";

    /**
     * Rows by a set of ids ({@code w.ids}, from a CTE {@code w}), on only the partitions of tasks
     * (V23: by when a task finished) that can hold them: a task cannot finish before it was
     * created, and its id (UUIDv7, {@link TaskIds}) says when that was, so no partition whose range
     * ends before the oldest id's time can hold one. Without this each id was looked up in every
     * partition's primary key. A day is left for the skew between a node's clock, which made the
     * id, and the database's, which stamps {@code finished_at}.
     */
    private static final String BY_IDS =
            """
            id = ANY(CAST((SELECT ids FROM w) AS uuid[]))
               AND COALESCE(finished_at, 'infinity'::timestamptz) >= (
                   SELECT %s - interval '1 day'
                     FROM unnest((SELECT ids FROM w)) AS u
                    ORDER BY u LIMIT 1)"""
                    .formatted(TaskIds.madeAt("CAST(u AS text)"));

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
        String ids = select("id", filter, wanted(filter, states), null, values, ":limit");
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
     * {@code columns} of the tasks holding the filter's text among the next {@link #TEXT_WINDOW}
     * tasks the other filters match (in one of {@code states}, null: any), newest first, at most
     * {@code limit} rows, each with two more columns: {@code matched} (it holds the text) and
     * {@code scanned} (its place in the window). The window's last task comes too, matched or not,
     * when the scan reaches it ({@code scanned} = {@link #TEXT_WINDOW}): the next window starts
     * after it. The scan stops once {@code limit} rows are found.
     *
     * <p>The text is matched on the whole rows the branches read, not on rows looked up by id after
     * the window's ids: an id does not say which day's partition holds its task, so each was looked
     * up in every partition that could (a rare agent's window spans days: 30,000 probes, 85,000
     * buffers against 5,000 here). Read whole, a common agent's branch would be planned as the
     * primary key newest first with a filter, which reads past every newer task of other agents in
     * a day's partition (4.3 s behind 500,000 newer tasks of another agent); so the branches go in
     * the order of the index they are to be read through ({@link #lead}).
     */
    static TaskListing search(
            String columns, TaskFilter filter, List<TaskState> states, int limit) {
        Map<String, Object> values = new HashMap<>();
        Set<TaskState> wanted = wanted(filter, states);
        String lead = lead(filter, wanted);
        String window = select("*", filter, wanted, lead, values, ":window");
        values.put("window", TEXT_WINDOW);
        values.put("text", filter.text().toLowerCase(Locale.ROOT));
        values.put("limit", limit);
        return new TaskListing(
                "SELECT "
                        + (columns.equals("*") ? "*" : columns + ", matched, scanned")
                        + " FROM (SELECT w.*, "
                        + TEXT_MATCH
                        + " AS matched, row_number() OVER (ORDER BY "
                        + order(lead)
                        + ") AS scanned FROM ("
                        + window
                        + ") w) s WHERE matched OR scanned = :window ORDER BY "
                        + order(lead)
                        + " LIMIT :limit",
                values);
    }

    Query query(Handle h) {
        Query query = h.createQuery(sql);
        values.forEach(query::bind);
        return query;
    }

    /** The same statement under EXPLAIN (ANALYZE, BUFFERS): the plan it runs, for tests. */
    TaskListing explained() {
        return new TaskListing("EXPLAIN (ANALYZE, BUFFERS) " + sql, values);
    }

    @Override
    public String toString() {
        return sql;
    }

    /** The states asked for ({@code states}, null: any) that the filter's state allows. */
    private static Set<TaskState> wanted(TaskFilter filter, List<TaskState> states) {
        Set<TaskState> wanted = EnumSet.allOf(TaskState.class);
        if (states != null) {
            wanted.retainAll(states);
        }
        if (filter.state() != null) {
            wanted.retainAll(Set.of(filter.state()));
        }
        return wanted;
    }

    /**
     * The column leading the index that whole rows are to be read through, or null (the primary
     * key, or the queue's few rows): the first of agent, schedule and concurrency key that the
     * filter names (the finished rows' indexes on (column, state, id)), else the state if it is one
     * finished state (the finished rows' index on (state, id)).
     */
    private static String lead(TaskFilter filter, Set<TaskState> wanted) {
        if (filter.agent() != null) {
            return "agent";
        }
        if (filter.schedule() != null) {
            return "schedule_name";
        }
        if (filter.concurrencyKey() != null) {
            return "concurrency_key";
        }
        if (wanted.size() == 1 && FINISHED.containsAll(wanted)) {
            return "state";
        }
        return null;
    }

    /**
     * Newest first, after {@code lead}: it has one value in every branch, so this is id order too,
     * but one that only the index {@code lead} leads gives without sorting, not the primary key.
     * {@code lead}'s condition is written {@code lead = ANY(ARRAY[…])}: as {@code lead = …} the
     * planner would take it for a constant and drop it from the order.
     */
    private static String order(String lead) {
        return lead == null ? "id DESC" : lead + " DESC, id DESC";
    }

    private static String select(
            String columns,
            TaskFilter filter,
            Set<TaskState> wanted,
            String lead,
            Map<String, Object> values,
            String limit) {
        StringJoiner shared = new StringJoiner(" AND ");
        equal(shared, values, "agent", "agent", filter.agent(), lead);
        equal(shared, values, "schedule_name", "schedule", filter.schedule(), lead);
        equal(shared, values, "concurrency_key", "concurrency_key", filter.concurrencyKey(), lead);
        boolean narrowed = shared.length() > 0;
        condition(shared, values, "id >= :from_id", "from_id", TaskIds.floor(filter.createdFrom()));
        condition(shared, values, "id < :to_id", "to_id", TaskIds.floor(filter.createdTo()));
        condition(shared, values, "id < :before", "before", filter.before());
        if (wanted.isEmpty()) {
            return "SELECT " + columns + " FROM tasks WHERE false LIMIT " + limit;
        }
        String order = " ORDER BY " + order(lead) + " LIMIT " + limit;
        List<String> branches = new ArrayList<>();
        if (wanted.size() == TaskState.values().length && !narrowed) {
            // Every state, no column filter: the primary key in id order.
            branches.add("");
        } else {
            // One branch per partial index: the claimable rows' (scheduled and queued), the
            // running rows', and each finished state's. The unfinished rows are all in the
            // queue's partition: said so, their branches are planned on it alone, not on every
            // day's partition too (a third less planning for a list by agent).
            Set<TaskState> waiting = EnumSet.copyOf(wanted);
            waiting.retainAll(WAITING);
            if (!waiting.isEmpty()) {
                branches.add(inStates(waiting, lead) + " AND " + IN_QUEUE);
            }
            for (TaskState state : wanted) {
                if (FINISHED.contains(state)) {
                    branches.add(inStates(Set.of(state), lead));
                } else if (!WAITING.contains(state)) {
                    branches.add(inStates(Set.of(state), lead) + " AND " + IN_QUEUE);
                }
            }
        }
        if (branches.size() == 1) {
            return "SELECT " + columns + " FROM tasks" + where(branches.get(0), shared) + order;
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
                                                + order
                                                + ")")
                        .collect(Collectors.joining(" UNION ALL "))
                + ") t"
                + order;
    }

    private static String inStates(Set<TaskState> states, String lead) {
        if (states.size() == 1) {
            String state = "'" + states.iterator().next().wire() + "'";
            return "state".equals(lead) ? "state = ANY(ARRAY[" + state + "])" : "state = " + state;
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

    /** {@code column = :name} if {@code value} is not null; written as {@link #order} says. */
    private static void equal(
            StringJoiner where,
            Map<String, Object> values,
            String column,
            String name,
            String value,
            String lead) {
        if (value != null) {
            where.add(
                    column.equals(lead)
                            ? column + " = ANY(ARRAY[CAST(:" + name + " AS text)])"
                            : column + " = :" + name);
            values.put(name, value);
        }
    }

    private static void condition(
            StringJoiner where, Map<String, Object> values, String sql, String name, Object value) {
        if (value != null) {
            where.add(sql);
            values.put(name, value);
        }
    }
}
