-- Lists and the dashboard stay fast on a big history (issue 23).
--
-- A task list is newest first (id order: ids are UUIDv7). A filter by agent, schedule or
-- concurrency key used to read every task of that agent, schedule or key (the schedule's index
-- held all its tasks, in every state; agents and keys had no index on finished tasks at all), so
-- its cost grew with the history: 0.6-1.2 s with 1,000,000 finished tasks. The list now reads one
-- branch per finished state and one of unfinished tasks, merged in id order (TaskListing), each
-- branch from an index that holds exactly its rows in id order:
--   finished, by agent / schedule / key  -> the three indexes below, (column, state, id)
--   unfinished, by schedule              -> tasks_unfinished_by_schedule, which also serves the
--                                           schedules' overlap checks (a run still unfinished)
--   unfinished, by agent or key          -> tasks_claimable, tasks_key_backlog and
--                                           tasks_running_by_agent (the hot queue: few rows)
-- A finished task enters each of its finished indexes once, when it ends (its state change is a
-- non-HOT update that writes every index whose predicate it meets anyway), so the hot path pays
-- one index entry per task for the agent's, and one more for a task with a schedule or a key.
CREATE INDEX tasks_finished_by_agent ON tasks (agent, state, id)
    WHERE state IN ('succeeded', 'failed', 'cancelled');
CREATE INDEX tasks_finished_by_schedule ON tasks (schedule_name, state, id)
    WHERE state IN ('succeeded', 'failed', 'cancelled') AND schedule_name IS NOT NULL;
CREATE INDEX tasks_finished_by_key ON tasks (concurrency_key, state, id)
    WHERE state IN ('succeeded', 'failed', 'cancelled') AND concurrency_key IS NOT NULL;

CREATE INDEX tasks_unfinished_by_schedule ON tasks (schedule_name, id)
    WHERE state IN ('scheduled', 'queued', 'running') AND schedule_name IS NOT NULL;
DROP INDEX tasks_by_schedule;
