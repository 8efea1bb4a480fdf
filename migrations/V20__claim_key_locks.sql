-- Per-key concurrency limits in the claim's one statement (docs/architecture.md invariant 2).
--
-- A claim that leases a key's tasks must count the key's running tasks after it holds the key's
-- advisory lock: counted before, it could miss the leases of the claimer that held the lock a
-- moment earlier and fill the key's last slot a second time. A statement's snapshot is taken when
-- the statement starts, so a statement cannot take the lock and then count in its own snapshot;
-- that is why the claim used to be two steps (a statement, then a transaction whose second
-- statement counted). A VOLATILE function, though, takes a fresh snapshot for each query it runs
-- (PostgreSQL's documentation, "Function Volatility Categories"), so the claim calls this one:
-- its first query tries the locks, its second counts, in a snapshot taken after the locks are held.

-- The advisory lock (with class 0x70756c6b, "pulk") of one concurrency key of an agent: every
-- claim, and every test holding a key's lock, names it through this function. (hashtext is the
-- hash PostgreSQL uses for text; a shared lock of two keys whose hashes meet only makes their
-- claims skip each other.)
CREATE FUNCTION pulse_key_lock(agent text, concurrency_key text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT hashtext(agent || E'\x1f' || concurrency_key) $$;

-- Tries, without waiting, the locks of the (agent, key) pairs given (pairs may repeat), and
-- returns each pair whose lock this transaction now holds with its running tasks, counted after
-- the locks were taken. The locks last until the transaction ends.
CREATE FUNCTION pulse_lock_keys(agents text[], keys text[])
    RETURNS TABLE (locked_agent text, locked_key text, running bigint)
    LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    held_agents text[];
    held_keys   text[];
BEGIN
    SELECT array_agg(u.a), array_agg(u.k)
      INTO held_agents, held_keys
      FROM (SELECT DISTINCT a, k FROM unnest(agents, keys) AS p (a, k) WHERE k IS NOT NULL) u
     WHERE pg_try_advisory_xact_lock(1886743659, pulse_key_lock(u.a, u.k));
    -- A new query: a new snapshot, taken with the locks held.
    RETURN QUERY
        SELECT h.a, h.k, COALESCE(r.n, 0)
          FROM unnest(held_agents, held_keys) AS h (a, k)
          LEFT JOIN (SELECT t.agent, t.concurrency_key, count(*) AS n
                       FROM tasks t
                      WHERE t.state = 'running' AND t.agent = ANY(held_agents)
                        AND t.concurrency_key = ANY(held_keys)
                      GROUP BY t.agent, t.concurrency_key) r
            ON r.agent = h.a AND r.concurrency_key = h.k;
END
$$;
