-- A password change signs the account out everywhere. Every token carries the epoch its account
-- had when the password it was issued for was checked; a password change starts a new epoch, so
-- older tokens are refused on every instance at once (no clocks compared). Refresh tokens carry it
-- too, so one spent in a race with the change cannot mint tokens of the new epoch.
ALTER TABLE accounts ADD COLUMN token_epoch integer NOT NULL DEFAULT 0;
ALTER TABLE refresh_tokens ADD COLUMN token_epoch integer NOT NULL DEFAULT 0;

-- Instances forget remembered role checks when a role or the epoch changes (see V6).
DROP TRIGGER accounts_changed ON accounts;
CREATE TRIGGER accounts_changed AFTER UPDATE OF role, token_epoch OR DELETE OR TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION pisync_credentials_changed();
