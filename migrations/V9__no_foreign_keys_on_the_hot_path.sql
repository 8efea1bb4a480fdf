-- Performance (issue #8): no foreign-key checks on the hot path.
--
-- A foreign key into tasks costs every attempt row the claim inserts (and every outbox row the
-- completer inserts) a per-row trigger that re-reads the task row it was just taken from and
-- locks it FOR KEY SHARE, which writes that row again (its xmax) and a WAL record. Measured with
-- pgbench on the claim statement alone, 40 rows per claim: about a fifth of the claim's time
-- (docs/benchmarks.md).
--
-- The keys could never fail: the claim inserts attempts from the task rows it updates in the same
-- statement, and the outbox is written from the rows the completer has just ended, in the same
-- transaction. The only thing that deletes tasks, retention (Retention.java), deletes their
-- attempts and deliveries in the same statement, which ON DELETE CASCADE did before.
ALTER TABLE task_attempts DROP CONSTRAINT task_attempts_task_id_fkey;
ALTER TABLE callback_deliveries DROP CONSTRAINT callback_deliveries_task_id_fkey;
