-- The hot queue. A row is claimable while state is 'scheduled' or 'queued' and run_at has
-- passed by the database clock; the partial index below covers exactly that set, so finished
-- rows never slow a claim.
CREATE TABLE tasks (
    id               uuid        PRIMARY KEY,
    agent            text        NOT NULL,
    state            text        NOT NULL
        CHECK (state IN ('scheduled', 'queued', 'running', 'succeeded', 'failed', 'cancelled')),
    priority         integer     NOT NULL DEFAULT 0,
    input            jsonb       NOT NULL,
    metadata         jsonb       NOT NULL DEFAULT '{}',
    callback_url     text,
    result           jsonb,
    error            jsonb,
    attempts         integer     NOT NULL DEFAULT 0,
    max_attempts     integer     NOT NULL CHECK (max_attempts >= 1),
    timeout_seconds  integer     NOT NULL CHECK (timeout_seconds >= 1),
    run_at           timestamptz NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    lease_token      uuid,
    lease_owner      text,
    lease_expires_at timestamptz,
    CHECK ((state = 'running') = (lease_token IS NOT NULL))
);

CREATE INDEX tasks_claimable ON tasks (priority, run_at, id) WHERE state IN ('scheduled', 'queued');
CREATE INDEX tasks_by_state ON tasks (state, id);
CREATE INDEX tasks_by_agent ON tasks (agent, id);

-- One row per attempt, written by the claim statement itself and closed by the fenced
-- completion. An attempt whose result arrived after it lost its lease is closed as 'stale';
-- one handed back unfinished (its node shut down) as 'released'.
CREATE TABLE task_attempts (
    task_id      uuid        NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    attempt      integer     NOT NULL,
    node         text        NOT NULL,
    lease_token  uuid        NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    outcome      text        CHECK (outcome IN ('succeeded', 'failed', 'stale', 'released')),
    error        jsonb,
    logs         text,
    PRIMARY KEY (task_id, attempt)
);

-- The callback outbox. A row is inserted in the transaction that makes its task terminal;
-- the dispatcher delivers it. body is the exact signed payload, so every retry sends the
-- same bytes under the same webhook-id.
CREATE TABLE callback_deliveries (
    id               uuid        PRIMARY KEY,
    task_id          uuid        NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    event_type       text        NOT NULL,
    url              text        NOT NULL,
    body             text        NOT NULL,
    state            text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_status      integer,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz
);

CREATE INDEX callback_deliveries_due ON callback_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX callback_deliveries_by_task ON callback_deliveries (task_id);

-- Cluster-wide settings every node must agree on, such as the generated webhook secret.
CREATE TABLE settings (
    name       text        PRIMARY KEY,
    value      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
