-- Flow control, the rest of issue 21.
--
-- tokens_per_minute admission: a run's estimated tokens are written to flow_tokens when its attempt
-- starts (TokensPerMinute.admit, under the agent's advisory lock, only if the minute has room),
-- marked with the attempt's lease token, and replaced by the usage the provider reported when it
-- ends. Rows written by nodes of the previous version (after the run, no token) count the same.
ALTER TABLE flow_tokens ADD COLUMN lease_token uuid;

-- Tokens and cost per agent, concurrency key and day (the day in PULSE_BUDGET_ZONE), added to after
-- every run of a keyed task that reports usage (UsageLedger): what per-key daily budgets read.
CREATE TABLE key_usage (
    agent           text    NOT NULL,
    concurrency_key text    NOT NULL,
    day             date    NOT NULL,
    runs            bigint  NOT NULL,
    input_tokens    bigint  NOT NULL,
    output_tokens   bigint  NOT NULL,
    cost_usd        numeric NOT NULL,
    PRIMARY KEY (agent, concurrency_key, day)
);

-- One concurrency key of an agent paused on every node until a time: its per-key daily budget
-- (spec.budget.per_key) is spent. Like agent_holds, but only the key's tasks wait; every claim skips
-- them (AgentHolds.NOT_HELD). Rows past their time mean nothing and are overwritten.
CREATE TABLE key_holds (
    agent           text        NOT NULL,
    concurrency_key text        NOT NULL,
    reason          text        NOT NULL CHECK (reason IN ('budget_exhausted')),
    until           timestamptz NOT NULL,
    since           timestamptz NOT NULL DEFAULT now(),
    detail          text,
    PRIMARY KEY (agent, concurrency_key, reason)
);
-- What every claim reads: the key holds still on, through an index condition.
CREATE INDEX key_holds_on ON key_holds (until, agent, concurrency_key);

-- Operator alerts (PULSE_ALERT_URL) go through the callback outbox, written in the transaction
-- that begins the hold they announce: they have no task.
ALTER TABLE callback_deliveries ALTER COLUMN task_id DROP NOT NULL;
