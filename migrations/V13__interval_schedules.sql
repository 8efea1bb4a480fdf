-- Interval schedules (`every` instead of `cron`) and bounds on any schedule (`start_at`, `until`,
-- `times`). docs/architecture.md, "Schedules: firing".
ALTER TABLE schedules
    ALTER COLUMN cron DROP NOT NULL,
    ADD COLUMN every      text,                              -- as the user wrote it: 90s, 10m, PT1H
    ADD COLUMN every_ms   bigint CHECK (every_ms >= 1000),
    ADD COLUMN start_at   timestamptz,
    ADD COLUMN until      timestamptz,
    ADD COLUMN times      integer CHECK (times >= 1),
    -- The first instant a tick may have: start_at, or when the timing was last set (plus one
    -- interval for `every`). Interval ticks are ticks_from + k * every, so every node computes
    -- the same instants and the UNIQUE (schedule_id, fire_time) keeps one task per tick.
    ADD COLUMN ticks_from timestamptz NOT NULL DEFAULT now(),
    ADD CONSTRAINT schedules_cron_or_every CHECK ((cron IS NULL) <> (every IS NULL)),
    ADD CONSTRAINT schedules_every_ms CHECK ((every IS NULL) = (every_ms IS NULL));

UPDATE schedules SET ticks_from = created_at;
