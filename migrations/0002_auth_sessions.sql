-- Sessions of the new service. The old Better-Auth `session` table is left alone: its opaque
-- tokens are never accepted, so none of its rows lets anybody in.
--
-- No refresh token is stored. A refresh token names its session and a rotation counter and is
-- authenticated by an HMAC under a server-side key, so the database holds nothing replayable:
-- refreshing with counter = refresh_counter rotates; counter = refresh_counter - 1 within the
-- grace window after rotated_at answers the current token; anything older is reuse.

CREATE TABLE auth_session (
    id uuid PRIMARY KEY,
    user_id text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    refresh_counter bigint NOT NULL DEFAULT 0,
    rotated_at timestamptz,
    created_at timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL,
    -- idle limit: REFRESH_TOKEN_TTL after the last refresh
    idle_expires_at timestamptz NOT NULL,
    -- absolute limit: SESSION_MAX_AGE after signin
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    revoked_reason text,
    ip_address text,
    user_agent text
);
CREATE INDEX auth_session_user_idx ON auth_session (user_id) WHERE revoked_at IS NULL;

-- Emails compare case-insensitively: look-ups go through lower(email), and two accounts may not
-- differ only in case. (A legacy database holding such a pair stops here, naming this migration:
-- merge the pair, then start again.)
CREATE UNIQUE INDEX IF NOT EXISTS user_email_lower_key ON "user" (lower(email));
