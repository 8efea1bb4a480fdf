-- Provider back-off and budgets (issue 21, second half).
--
-- agent_holds: an agent paused on every node until a time, and why: provider_backoff (its provider
-- answered 429/503 and named a time; for llm agents every agent of the same provider and model is
-- held) or budget_exhausted (its daily budget is spent; until it renews). Claims skip the agents
-- of the holds not yet over (TaskClaimer); rows past their time mean nothing and are overwritten
-- by the next hold of the agent. since: when the hold began (kept while it is extended): the node
-- whose hold began it announces it to the operator webhook (PULSE_ALERT_URL), once.
CREATE TABLE agent_holds (
    agent           text        NOT NULL,
    reason          text        NOT NULL CHECK (reason IN ('provider_backoff', 'budget_exhausted', 'rate_limited')),
    until           timestamptz NOT NULL,
    since           timestamptz NOT NULL DEFAULT now(),
    detail          text,
    PRIMARY KEY (agent, reason)
);
-- What every claim reads (AgentHolds.NOT_HELD): the holds still on, through an index condition.
CREATE INDEX agent_holds_on ON agent_holds (until, agent);

-- A task's budget for one run: {max_tokens, max_cost_usd, max_duration} (TaskBudget), or null.
ALTER TABLE tasks ADD COLUMN budget jsonb;

-- A throttled attempt (the provider asked to be left alone) is recorded but not counted.
ALTER TABLE task_attempts DROP CONSTRAINT task_attempts_outcome_check;
ALTER TABLE task_attempts ADD CONSTRAINT task_attempts_outcome_check
    CHECK (outcome IN ('succeeded', 'failed', 'stale', 'released', 'lost', 'cancelled', 'throttled'));

-- Tokens and cost per agent per day (the day in PULSE_BUDGET_ZONE), added to after every run that
-- reports usage (UsageLedger): what daily budgets, GET /v1/agents/{name} and the dashboard read.
CREATE TABLE agent_usage (
    agent         text    NOT NULL,
    day           date    NOT NULL,
    runs          bigint  NOT NULL,
    input_tokens  bigint  NOT NULL,
    output_tokens bigint  NOT NULL,
    cost_usd      numeric NOT NULL,
    PRIMARY KEY (agent, day)
);

-- The tokens each run of an agent with tokens_per_minute reported, kept for a minute
-- (DailyBudgets): once a sliding minute's tokens reach the limit, the agent is held (rate_limited)
-- until the oldest of them leaves the window.
CREATE TABLE flow_tokens (
    agent  text        NOT NULL,
    at     timestamptz NOT NULL,
    tokens bigint      NOT NULL
);
CREATE INDEX flow_tokens_by_agent ON flow_tokens (agent, at);
