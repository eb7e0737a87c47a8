-- A password change signs the account out everywhere: access tokens issued before this moment
-- (to the second, as tokens carry their issue time) are refused on every instance at once.
ALTER TABLE accounts ADD COLUMN signed_out_at timestamptz;

-- Instances forget remembered role checks when a role or this column changes (see V6).
DROP TRIGGER accounts_changed ON accounts;
CREATE TRIGGER accounts_changed AFTER UPDATE OF role, signed_out_at OR DELETE OR TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION pisync_credentials_changed();
