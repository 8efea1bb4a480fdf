-- Performance (issue #8): one index on running tasks, not two.
--
-- Every claim made each task enter both partial indexes on running rows (V2), and every lease
-- renewal (Heartbeat.java) changed tasks_running_by_lease's key, so no renewal could be a HOT
-- update. Running rows are few (at most the worker slots of all nodes), and the two readers that
-- want them by lease, the rescuer (Rescuer.java) and the dashboard's nodes page, read them
-- through tasks_running_by_agent, whose key a running row never changes.
DROP INDEX tasks_running_by_lease;
