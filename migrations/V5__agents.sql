-- Agents shared by every node: applied from agent files at start, `pulse agents apply`, or
-- PUT /v1/agents/{name}. The document is stored as written; secret references (env:NAME) stay
-- references, resolved by the node that runs the agent.
CREATE TABLE agents (
    name       text        PRIMARY KEY,
    document   jsonb       NOT NULL,
    base_dir   text,                      -- where relative paths in it resolve; null: the node's working directory
    source     text        NOT NULL,      -- the file it came from, or 'api'
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
