-- Performance (issue #8): keep the hot queue table small and its dead tuples few.
--
-- tasks: every claim and completion is a non-HOT update (state is indexed), so each leaves a
-- dead tuple and dead index entries at the head of the claim index. Stock autovacuum waits for
-- 20 % of the table to be dead, which on a table with a long history means millions of rows;
-- vacuum it after 1 % (or 1,000 rows), analyze after 2 %, without cost-based throttling pauses
-- longer than 1 ms. Terminal rows are pruned by the node's retention job (PULSE_RETENTION), which
-- keeps the table itself small. The claim index (tasks_claimable, V1) already covers exactly the
-- claimable rows: WHERE state IN ('scheduled', 'queued').
ALTER TABLE tasks SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.05,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_delay = 1
);

-- task_attempts: written by the claim, closed by the completion, which changes no indexed
-- column: with free room on the page the close is a HOT update (no new index entry).
ALTER TABLE task_attempts SET (
    fillfactor = 80,
    autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_vacuum_insert_scale_factor = 0.05,
    autovacuum_analyze_scale_factor = 0.05,
    autovacuum_vacuum_cost_delay = 1
);

-- callback_deliveries: one insert and one or two updates per terminal task with a callback.
ALTER TABLE callback_deliveries SET (
    autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_vacuum_insert_scale_factor = 0.05,
    autovacuum_analyze_scale_factor = 0.05,
    autovacuum_vacuum_cost_delay = 1
);
