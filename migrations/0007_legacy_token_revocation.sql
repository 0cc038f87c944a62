-- Tokens of the old backend (accepted while LEGACY_TOKENS_UNTIL is ahead) name no session, so
-- ending them is recorded here, where every instance reads it: one token (logout, RFC 7009
-- revocation), or every token of a user issued until then (logout global/others, change-password),
-- but the caller's own. A row matters only until the tokens it ends have run out anyway, 24 hours
-- after their issue: `expires_at`, past which rows are ignored and deleted opportunistically
-- (times come from the service's clock, not now()).
CREATE TABLE legacy_token_revocation (
    user_id text NOT NULL REFERENCES "user"(id) ON DELETE CASCADE,
    -- one token (the service's id for it, a hash of its signed part); NULL: every token of the user
    -- issued (iat) at or before revoked_at
    token_id text,
    -- with token_id NULL: the token that stays valid (the caller's), if any
    kept_token_id text,
    revoked_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX legacy_token_revocation_user_idx ON legacy_token_revocation (user_id);
-- One row per token, and one "every token but" row per user and kept token (moved forward by the
-- next such revocation): repeating a revocation (POST /revoke needs no session) adds no row.
CREATE UNIQUE INDEX legacy_token_revocation_token_idx ON legacy_token_revocation (token_id)
    WHERE token_id IS NOT NULL;
CREATE UNIQUE INDEX legacy_token_revocation_cutoff_idx
    ON legacy_token_revocation (user_id, (coalesce(kept_token_id, '')))
    WHERE token_id IS NULL;
CREATE INDEX legacy_token_revocation_expires_idx ON legacy_token_revocation (expires_at);
