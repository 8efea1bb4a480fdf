-- A schedule's DST policy (docs/api.md, "Time zones and DST"): what a fixed-time tick does when
-- its wall time falls in a spring-forward gap (run at the jump, or skip that day) and when it
-- occurs twice at a fall-back (run at the first or the second occurrence).
ALTER TABLE schedules
    ADD COLUMN dst_gap    text NOT NULL DEFAULT 'run_after' CHECK (dst_gap IN ('run_after', 'skip')),
    ADD COLUMN dst_repeat text NOT NULL DEFAULT 'first' CHECK (dst_repeat IN ('first', 'second'));

-- 5-field lines are no longer translated to Quartz: Pulse reads them itself, as cronie does.
-- quartz_cron holds the expression only when it is written in Quartz's own syntax.
ALTER TABLE schedules ALTER COLUMN quartz_cron DROP NOT NULL;
UPDATE schedules SET quartz_cron = NULL WHERE array_length(regexp_split_to_array(trim(cron), '\s+'), 1) = 5
                                          OR cron LIKE '@%';
