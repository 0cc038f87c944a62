-- Idempotency-Key of POST /api/tasks: per user and key, the fingerprint of the request body that
-- first used the key and the response it got, so a retry answers that response instead of
-- creating again. The primary key is what makes concurrent retries safe: the second INSERT of a
-- (user, key) waits for the first transaction and then conflicts.
--
-- Entries older than 24 hours are ignored by the service (time comes from its clock, not now())
-- and deleted opportunistically, a user's at a time (the primary key's user_id prefix).
CREATE TABLE idempotency_key (
    user_id text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    key text NOT NULL,
    -- sha256 (hex) of the canonical JSON of the decoded request body
    request_fingerprint text NOT NULL,
    response_status smallint NOT NULL,
    response_body jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);
