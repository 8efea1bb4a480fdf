-- Flow control (issue 21): concurrency keys, claims fair across keys, per-key and rate limits.
--
-- concurrency_key: who a task belongs to (a tenant, a customer), at most 200 characters.
-- virtual_start: the task's place in the claim order within its priority (docs/architecture.md,
-- "Fairness across concurrency keys"). A task without a key is placed at its due time, as before;
-- a keyed task at max(its due time, the place of its key's last waiting task + one step), so a
-- key's backlog is spread out and other keys' tasks fall in between. A retried task moves to its
-- new due time if that is later (TaskCompleter). Rows written by a node of the previous version
-- have none and sort after every other waiting row of their priority (NULLS LAST) until the
-- rolling upgrade ends.
ALTER TABLE tasks
    ADD COLUMN concurrency_key text CHECK (char_length(concurrency_key) <= 200),
    ADD COLUMN virtual_start timestamptz;

UPDATE tasks SET virtual_start = run_at WHERE state IN ('scheduled', 'queued', 'running');

-- The claim order (TaskClaimer): priority, place, due time, id. run_at stays in the key so that
-- "run_at <= now()" is checked in the index, without visiting rows that are not due.
DROP INDEX tasks_claimable;
CREATE INDEX tasks_claimable ON tasks (priority, virtual_start, run_at, id) WHERE state IN ('scheduled', 'queued');

-- A key's waiting tasks by place: where the key's next task goes (TaskStore's insert reads the
-- last). Only keyed rows enter it, once, at enqueue: a claim leaves its predicate.
CREATE INDEX tasks_key_backlog ON tasks (concurrency_key, virtual_start, run_at)
    WHERE state IN ('scheduled', 'queued') AND concurrency_key IS NOT NULL;

-- The start of every attempt of an agent with a rate limit, per key: claims count the starts in
-- the window behind them (a sliding window, exact: never more than the limit in any period).
-- Written and pruned by the claim under the agent's (or key's) advisory lock.
CREATE TABLE flow_starts (
    agent           text        NOT NULL,
    concurrency_key text,
    started_at      timestamptz NOT NULL
);
CREATE INDEX flow_starts_by_agent ON flow_starts (agent, started_at);
CREATE INDEX flow_starts_by_key ON flow_starts (agent, concurrency_key, started_at) WHERE concurrency_key IS NOT NULL;
