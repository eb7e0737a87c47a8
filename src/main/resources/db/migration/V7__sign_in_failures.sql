-- Failed sign-ins are forgotten a while after the last one, for accounts and for names without an
-- account alike, so a lock (or its absence) never tells a guesser which names exist.
ALTER TABLE accounts ADD COLUMN last_failed_at timestamptz;

CREATE TABLE sign_in_failures (
    username       text PRIMARY KEY,     -- a name that has no account
    failed_logins  integer NOT NULL,
    locked_until   timestamptz,
    last_failed_at timestamptz NOT NULL
);
CREATE INDEX sign_in_failures_last_idx ON sign_in_failures (last_failed_at);

-- The clean-up every few minutes deletes by expiry.
CREATE INDEX rate_limit_buckets_expires_idx ON rate_limit_buckets (expires_at);
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);
