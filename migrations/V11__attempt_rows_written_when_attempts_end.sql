-- Performance (issue #8): an attempt's row is written once, when the attempt ends.
--
-- The claim inserted each attempt's row and the completer then updated it: two writes of the
-- row on the hot path (docs/benchmarks.md, fifth session: the claim's WAL records per row fell
-- from 6.6 to 4.6, and inserting the finished row costs less than closing the open one did).
-- Now the completer (or the rescuer, for a lost attempt) inserts the finished row, and a running
-- attempt is read from its task row: who runs it is lease_owner, and since when this new column,
-- set by the claim.
ALTER TABLE tasks ADD COLUMN attempt_started_at timestamptz;

-- Attempts running during the upgrade keep the start their open row holds; the completer and
-- the rescuer close such a row in place instead of inserting a second one (TaskCompleter,
-- Rescuer), so nodes of the previous version may finish their attempts during a rolling upgrade.
UPDATE tasks t
   SET attempt_started_at = a.started_at
  FROM task_attempts a
 WHERE t.state = 'running' AND a.task_id = t.id AND a.attempt = t.attempts;
