-- The operator dashboard (/dashboard).

-- Signed-in browser sessions. The cookie holds a random token; only its SHA-256 is stored, with
-- the API key it was opened with, so revoking the key (or its scopes changing) takes effect on
-- the next page, and any API node sharing this database recognises the session.
CREATE TABLE dashboard_sessions (
    token_hash text        PRIMARY KEY,
    key_id     uuid        NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);

-- Throughput rollup for the overview chart and the agents page: every node adds what its
-- workers finished, per minute (database clock) and agent, every few seconds. Rows older than
-- a few hours are pruned by the nodes themselves. Nothing here touches the hot tasks table.
CREATE TABLE dashboard_minutes (
    minute    timestamptz NOT NULL,
    node      text        NOT NULL,
    agent     text        NOT NULL,
    succeeded integer     NOT NULL DEFAULT 0,
    failed    integer     NOT NULL DEFAULT 0,
    runs      integer     NOT NULL DEFAULT 0,  -- attempts that ended in any way (also cancelled, released)
    run_ms    bigint      NOT NULL DEFAULT 0,  -- their summed run time
    PRIMARY KEY (minute, node, agent)
);

-- The callbacks page lists dead deliveries newest first without scanning delivered ones.
CREATE INDEX callback_deliveries_dead ON callback_deliveries (created_at) WHERE state = 'dead';
