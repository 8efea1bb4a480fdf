-- HistoryMeasurement's history: tasks :lo to :hi - 1 of :n finished tasks, spread evenly over the
-- 7 days that end 10 minutes ago (UUIDv7 ids made from those times), with their attempts and
-- delivered callbacks. Agents: summarize 50 %, classify 30 %, echo 15 %, translate 4.9 %,
-- rare-agent 0.1 %; states: succeeded 95 %, failed 4 %, cancelled 1 %; 10 % from 20 schedules
-- (nightly-0..19), 30 % with one of 1,000 concurrency keys (tenant-0..999), 10 % with an
-- idempotency key, 10 % with a callback.
WITH g AS (
  SELECT i,
         (extract(epoch FROM now() - interval '7 days 10 minutes') * 1000)::bigint
           + (i::bigint * 604800000 / :n) AS ms,
         md5(i::text) AS h,
         abs(hashint4(i)) % 10000 AS r,
         abs(hashint4(i + 7919)) % 10000 AS r2
    FROM generate_series(:lo, :hi - 1) AS i
), t AS (
  SELECT i, ms, h, r, r2,
         (lpad(to_hex(ms), 12, '0') || '7' || substr(h, 1, 3) || '8' || substr(h, 4, 15))::uuid AS id,
         to_timestamp(ms / 1000.0) AS created,
         CASE WHEN r < 5000 THEN 'summarize' WHEN r < 8000 THEN 'classify' WHEN r < 9500 THEN 'echo'
              WHEN r < 9990 THEN 'translate' ELSE 'rare-agent' END AS agent,
         CASE WHEN r2 < 9500 THEN 'succeeded' WHEN r2 < 9900 THEN 'failed' ELSE 'cancelled' END AS state
    FROM g
)
, ins AS (
INSERT INTO tasks (id, agent, state, priority, input, metadata, callback_url, result, error, attempts, max_attempts,
                   timeout_seconds, run_at, created_at, started_at, finished_at, updated_at,
                   idempotency_owner, idempotency_key, schedule_name, fire_time, concurrency_key, virtual_start)
SELECT id, agent, state, 0,
       jsonb_build_object('document', 'doc-' || i, 'prompt', 'Summarize report ' || substr(h, 1, 8) || ' for the weekly review',
                          'customer', 'c-' || (r2 % 997)),
       jsonb_build_object('source', CASE WHEN r % 3 = 0 THEN 'api' ELSE 'batch' END, 'run', 'r-' || (i / 1000)),
       CASE WHEN r % 10 = 0 THEN 'https://hooks.example.com/pulse' END,
       CASE WHEN state = 'succeeded' THEN jsonb_build_object('summary', 'done ' || substr(h, 9, 6)) END,
       CASE WHEN state = 'failed' THEN jsonb_build_object('code', 'agent_error', 'message', 'upstream said no') END,
       CASE WHEN state = 'cancelled' THEN 0 ELSE 1 END, 3, 300,
       created, created, created + interval '20 ms', created + make_interval(secs => 0.5 + (r % 100) / 10.0),
       created + make_interval(secs => 0.5 + (r % 100) / 10.0),
       '', CASE WHEN r2 % 10 = 1 THEN 'key-' || i END,
       CASE WHEN r % 10 = 3 THEN 'nightly-' || (r2 % 20) END,
       CASE WHEN r % 10 = 3 THEN date_trunc('minute', created) END,
       CASE WHEN r % 10 < 3 THEN 'tenant-' || (r2 % 1000) END,
       created
  FROM t
RETURNING id, state, started_at, finished_at, error, callback_url
), att AS (
INSERT INTO task_attempts (task_id, attempt, node, lease_token, started_at, finished_at, outcome, error)
SELECT id, 1, 'node-' || (abs(hashtext(id::text)) % 3), md5(id::text)::uuid, started_at, finished_at, state, error
  FROM ins WHERE state <> 'cancelled'
)
INSERT INTO callback_deliveries (id, task_id, event_type, url, body, state, attempts, next_attempt_at, last_status,
                                 created_at, delivered_at)
SELECT md5('d' || id::text)::uuid, id, 'task.' || state, callback_url, '{"type":"task.' || state || '"}', 'delivered', 1,
       finished_at, 200, finished_at, finished_at + interval '30 ms'
  FROM ins WHERE callback_url IS NOT NULL;
