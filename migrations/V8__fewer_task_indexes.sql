-- Performance (issue #8): fewer index entries per task.
--
-- Every state change of a task is a non-HOT update (state is in the partial indexes' predicates),
-- so it writes a new entry into every index whose definition the new row version satisfies. The
-- two general indexes below took one entry each at enqueue, claim and completion: six of the
-- ~twelve index writes of a task's life, and about a third of PostgreSQL's CPU per task on the
-- burn-down (docs/benchmarks.md).
--
-- What they served is served by narrower indexes that a row enters once:
--   scheduled / queued  -> tasks_claimable (V1)
--   running             -> tasks_running_by_agent, tasks_running_by_lease (V2)
--   finished            -> tasks_finished below, entered once, when the task ends
-- A filter by agent alone reads the primary key newest first until the page is full.
DROP INDEX tasks_by_state;
DROP INDEX tasks_by_agent;

CREATE INDEX tasks_finished ON tasks (state, id) WHERE state IN ('succeeded', 'failed', 'cancelled');
