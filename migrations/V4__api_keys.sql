-- API keys. Only a SHA-256 of each key is stored: keys are 192 random bits, so a fast hash is
-- as good as a slow one, and lets every request be checked with one index lookup.
CREATE TABLE api_keys (
    id           uuid        PRIMARY KEY,
    name         text        NOT NULL UNIQUE,
    prefix       text        NOT NULL,          -- the first characters, to recognise a key in lists
    key_hash     text        NOT NULL UNIQUE,   -- hex SHA-256 of the whole key
    scopes       text[]      NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
