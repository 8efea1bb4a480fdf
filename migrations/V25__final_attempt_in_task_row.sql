-- Performance II (issue 22): one write fewer per task.
--
-- An attempt that ends its task (succeeded, cancelled, or failed for good) without logs no longer
-- writes a task_attempts row: everything that row would hold is already in its task row, written
-- by the same fenced update -- the node (lease_owner, now kept when a task ends), the start
-- (attempt_started_at), the end (finished_at), the outcome (state) and, for a failure, the error.
-- Attempts that leave the task unfinished (failed and retried, released, throttled, lost to the
-- rescuer) and attempts with logs still have their row. A retry of a failed or cancelled task
-- writes the row of its last attempt before it reuses those columns (TaskStore.RETRY).
--
-- ended_attempts is every ended attempt, wherever it is recorded: what task_attempts alone was
-- before. The API, the dashboard and operators' SQL read attempts through it.
CREATE VIEW ended_attempts AS
SELECT task_id, attempt, node, lease_token, started_at, finished_at, outcome, error, logs
  FROM task_attempts
UNION ALL
SELECT t.id, t.attempts, t.lease_owner, NULL, t.attempt_started_at, t.finished_at, t.state,
       CASE WHEN t.state = 'failed' THEN t.error END, NULL
  FROM tasks t
 WHERE t.state IN ('succeeded', 'failed', 'cancelled')
   AND t.attempts > 0 AND t.attempt_started_at IS NOT NULL AND t.lease_owner IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM task_attempts a WHERE a.task_id = t.id AND a.attempt = t.attempts);
