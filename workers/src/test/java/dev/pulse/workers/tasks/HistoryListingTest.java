package dev.pulse.workers.tasks;

import static org.assertj.core.api.Assertions.assertThat;

import dev.pulse.workers.testing.QueueKit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Lists over a history of finished tasks beside unfinished ones: every combination of the filters
 * finds exactly its tasks newest first, page by page, however the statement splits them into
 * branches (one per finished state, one for the unfinished); a text search reads a bounded window
 * per page and goes on from where it stopped.
 */
class HistoryListingTest {

    @RegisterExtension final QueueKit kit = new QueueKit();

    private record Row(
            UUID id, String agent, TaskState state, String schedule, String key, String text) {}

    @Test
    void everyCombinationOfFiltersFindsExactlyItsTasksNewestFirstPageByPage() {
        Random random = new Random(23);
        List<Row> rows = new ArrayList<>();
        UUID[] ids = kit.ids.next(240);
        for (UUID id : ids) {
            rows.add(
                    new Row(
                            id,
                            random.nextInt(3) == 0 ? "rare" : "busy",
                            TaskState.values()[random.nextInt(TaskState.values().length)],
                            random.nextBoolean() ? "nightly" : null,
                            random.nextInt(3) == 0 ? "tenant-1" : null,
                            random.nextInt(3) == 0 ? "a Needle" : "hay"));
        }
        insert(rows);
        for (TaskState state : withNull(TaskState.values())) {
            for (String agent : withNull(new String[] {"rare"})) {
                for (String schedule : withNull(new String[] {"nightly"})) {
                    for (String key : withNull(new String[] {"tenant-1"})) {
                        for (String text : withNull(new String[] {"needle"})) {
                            List<UUID> expected =
                                    rows.stream()
                                            .filter(r -> state == null || r.state() == state)
                                            .filter(r -> agent == null || agent.equals(r.agent()))
                                            .filter(
                                                    r ->
                                                            schedule == null
                                                                    || schedule.equals(
                                                                            r.schedule()))
                                            .filter(r -> key == null || key.equals(r.key()))
                                            .filter(
                                                    r ->
                                                            text == null
                                                                    || r.text().equals("a Needle"))
                                            .map(Row::id)
                                            .sorted(Comparator.reverseOrder())
                                            .toList();
                            TaskFilter filter =
                                    new TaskFilter(
                                            state, agent, schedule, null, null, text, null, 7, key);
                            assertThat(allPages(filter))
                                    .as(
                                            "state %s, agent %s, schedule %s, key %s, text %s",
                                            state, agent, schedule, key, text)
                                    .containsExactlyElementsOf(expected);
                        }
                    }
                }
            }
        }
        // the bulk actions' ids: only the states asked for, newest first
        List<UUID> retryable =
                rows.stream()
                        .filter(r -> r.agent().equals("rare"))
                        .filter(
                                r ->
                                        r.state() == TaskState.FAILED
                                                || r.state() == TaskState.CANCELLED)
                        .map(Row::id)
                        .sorted(Comparator.reverseOrder())
                        .toList();
        assertThat(
                        kit.tasks.ids(
                                TaskFilter.of(null, "rare", null, null, 1000),
                                List.of(TaskState.FAILED, TaskState.CANCELLED)))
                .containsExactlyElementsOf(retryable);
        // and with a text filter: the matches among them
        assertThat(
                        kit.tasks.ids(
                                new TaskFilter(
                                        null, "rare", null, null, null, "needle", null, 1000, null),
                                List.of(TaskState.FAILED, TaskState.CANCELLED)))
                .containsExactlyElementsOf(
                        rows.stream()
                                .filter(r -> retryable.contains(r.id()))
                                .filter(r -> r.text().equals("a Needle"))
                                .map(Row::id)
                                .sorted(Comparator.reverseOrder())
                                .toList());
    }

    @Test
    void aTextSearchReadsABoundedWindowPerPageAndGoesOnFromWhereItStopped() {
        int n = TaskStore.TEXT_WINDOW + 30;
        UUID[] ids = kit.ids.next(n);
        Arrays.sort(ids); // ids made within one millisecond are not in order
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            // the needle: in the oldest task and in the newest
            String text = i == 0 || i == n - 1 ? "Needle-" + i : "hay " + i;
            rows.add(new Row(ids[i], "busy", TaskState.SUCCEEDED, null, null, text));
        }
        insert(rows);
        // the same tasks found whichever index the window is read through: the primary key, the
        // finished tasks' by state, by agent
        for (TaskFilter search :
                List.of(
                        new TaskFilter(null, null, null, null, null, "needle", null, 50, null),
                        new TaskFilter(
                                TaskState.SUCCEEDED,
                                null,
                                null,
                                null,
                                null,
                                "needle",
                                null,
                                50,
                                null),
                        new TaskFilter(null, "busy", null, null, null, "needle", null, 50, null))) {
            TaskPage first = kit.tasks.list(search);
            assertThat(first.items())
                    .as("%s", search)
                    .extracting(Task::id)
                    .containsExactly(ids[n - 1]);
            assertThat(first.nextCursor())
                    .as("the window ended before the history did: %s", search)
                    .isEqualTo(ids[n - TaskStore.TEXT_WINDOW]);
            List<UUID> found = new ArrayList<>(first.items().stream().map(Task::id).toList());
            UUID cursor = first.nextCursor();
            int pages = 1;
            while (cursor != null) {
                TaskPage page = kit.tasks.list(withCursor(search, cursor));
                page.items().forEach(t -> found.add(t.id()));
                cursor = page.nextCursor();
                pages++;
            }
            assertThat(found).as("%s", search).containsExactly(ids[n - 1], ids[0]);
            assertThat(pages).as("%s", search).isEqualTo(2);
            // a bulk action's ids with a text filter: the matches in the first window
            assertThat(kit.tasks.ids(search, List.of(TaskState.SUCCEEDED)))
                    .as("%s", search)
                    .containsExactly(ids[n - 1]);
        }
    }

    private static TaskFilter withCursor(TaskFilter f, UUID before) {
        return new TaskFilter(
                f.state(),
                f.agent(),
                f.schedule(),
                f.createdFrom(),
                f.createdTo(),
                f.text(),
                before,
                f.limit(),
                f.concurrencyKey());
    }

    private List<UUID> allPages(TaskFilter filter) {
        List<UUID> seen = new ArrayList<>();
        UUID cursor = null;
        do {
            TaskPage page = kit.tasks.list(withCursor(filter, cursor));
            assertThat(page.items().size()).isLessThanOrEqualTo(filter.limit());
            page.items().forEach(t -> seen.add(t.id()));
            cursor = page.nextCursor();
        } while (cursor != null);
        return seen;
    }

    @SafeVarargs
    private static <T> List<T> withNull(T... values) {
        List<T> all = new ArrayList<>(Arrays.asList(values));
        all.add(0, null);
        return all;
    }

    private void insert(List<Row> rows) {
        kit.database
                .jdbi()
                .useHandle(
                        h ->
                                h.createUpdate(
                                                """
                        INSERT INTO tasks (id, agent, state, input, max_attempts, timeout_seconds, run_at,
                                           schedule_name, concurrency_key, lease_token, lease_owner, lease_expires_at,
                                           finished_at)
                        SELECT u.id, u.agent, u.state, jsonb_build_object('text', u.text), 3, 60, now(),
                               u.schedule, u.key,
                               CASE WHEN u.state = 'running' THEN gen_random_uuid() END,
                               CASE WHEN u.state = 'running' THEN 'node-a' END,
                               CASE WHEN u.state = 'running' THEN now() + interval '1 hour' END,
                               CASE WHEN u.state IN ('succeeded', 'failed', 'cancelled') THEN now() END
                          FROM unnest(CAST(:ids AS uuid[]), CAST(:agents AS text[]), CAST(:states AS text[]),
                                      CAST(:schedules AS text[]), CAST(:keys AS text[]), CAST(:texts AS text[]))
                               AS u (id, agent, state, schedule, key, text)
                        """)
                                        .bind(
                                                "ids",
                                                rows.stream().map(Row::id).toArray(UUID[]::new))
                                        .bind(
                                                "agents",
                                                rows.stream()
                                                        .map(Row::agent)
                                                        .toArray(String[]::new))
                                        .bind(
                                                "states",
                                                rows.stream()
                                                        .map(r -> r.state().wire())
                                                        .toArray(String[]::new))
                                        .bind(
                                                "schedules",
                                                rows.stream()
                                                        .map(Row::schedule)
                                                        .toArray(String[]::new))
                                        .bind(
                                                "keys",
                                                rows.stream().map(Row::key).toArray(String[]::new))
                                        .bind(
                                                "texts",
                                                rows.stream().map(Row::text).toArray(String[]::new))
                                        .execute());
        assertThat(kit.count("SELECT count(*) FROM tasks")).isEqualTo(rows.size());
    }
}
