-- Sessions of the new service. The old Better-Auth `session` table is left alone: its opaque
-- tokens are never accepted, so none of its rows lets anybody in.
-- A refresh token is stored only as its SHA-256 hash; it cannot be replayed from the database.

CREATE TABLE auth_session (
    id uuid PRIMARY KEY,
    user_id text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    refresh_token_hash bytea NOT NULL,
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
CREATE UNIQUE INDEX auth_session_refresh_idx ON auth_session (refresh_token_hash);

-- Emails compare case-insensitively: look-ups go through lower(email), and two accounts may not
-- differ only in case. (A legacy database holding such a pair stops here, naming this migration:
-- merge the pair, then start again.)
CREATE UNIQUE INDEX IF NOT EXISTS user_email_lower_key ON "user" (lower(email));
