-- Workers outside Pulse that run agents of executor remote, pulling over HTTP (issue 20): one row
-- per worker id, touched when it claims, heartbeats or reports, so the dashboard can show who is
-- there. Leases need no row here: a remote worker's tasks carry lease_owner 'remote:<id>', which no
-- nodes row matches, so the rescuer takes them back as soon as their lease expires.
CREATE TABLE remote_workers (
    id            text        PRIMARY KEY,
    key_name      text,
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now()
);
