-- Failed sign-ins per name, whether or not an account has that name: counting, locking and
-- forgetting are the same for every name, so no answer tells a guesser which names exist.
CREATE TABLE sign_in_failures (
    username       text PRIMARY KEY,
    failed_logins  integer NOT NULL,
    locked_until   timestamptz,
    last_failed_at timestamptz NOT NULL
);
CREATE INDEX sign_in_failures_last_idx ON sign_in_failures (last_failed_at);

-- Counts and locks of accounts move there.
INSERT INTO sign_in_failures (username, failed_logins, locked_until, last_failed_at)
SELECT username, failed_logins, locked_until, now() FROM accounts
WHERE failed_logins > 0 OR locked_until > now();
ALTER TABLE accounts DROP COLUMN failed_logins, DROP COLUMN locked_until;

-- The clean-up every few minutes deletes expired refresh tokens by expiry.
CREATE INDEX refresh_tokens_expires_idx ON refresh_tokens (expires_at);
