-- Durable execution: leases renewed by heartbeats, a rescuer for expired leases, cancellation
-- of running tasks, idempotent enqueue and per-task retry backoff.

ALTER TABLE tasks
    ADD COLUMN cancel_requested_at timestamptz,
    ADD COLUMN idempotency_owner   text    NOT NULL DEFAULT '',
    ADD COLUMN idempotency_key     text,
    ADD COLUMN retry_base_ms       integer NOT NULL DEFAULT 1000  CHECK (retry_base_ms >= 0),
    ADD COLUMN retry_max_ms        integer NOT NULL DEFAULT 600000 CHECK (retry_max_ms >= retry_base_ms);

-- One task per (owner, key); the owner is the API key's owner once keys exist, '' until then.
CREATE UNIQUE INDEX tasks_idempotency ON tasks (idempotency_owner, idempotency_key)
    WHERE idempotency_key IS NOT NULL;

-- The rescuer's scan: running rows by lease expiry, nothing else.
CREATE INDEX tasks_running_by_lease ON tasks (lease_expires_at) WHERE state = 'running';

-- Per-agent concurrency limits count running rows per agent.
CREATE INDEX tasks_running_by_agent ON tasks (agent) WHERE state = 'running';

ALTER TABLE task_attempts DROP CONSTRAINT task_attempts_outcome_check;
ALTER TABLE task_attempts ADD CONSTRAINT task_attempts_outcome_check
    CHECK (outcome IN ('succeeded', 'failed', 'stale', 'released', 'lost', 'cancelled'));

-- Live processes. A node upserts its row on every heartbeat and deletes it on a clean
-- shutdown; a row whose heartbeat is older than the lease belongs to a dead node.
CREATE TABLE nodes (
    id           text        PRIMARY KEY,
    host         text        NOT NULL,
    pid          bigint      NOT NULL,
    roles        text[]      NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    running      integer     NOT NULL DEFAULT 0
);
