-- Every instance remembers the key and role checks it made (auth.CredentialCache) and forgets them
-- all when it hears this notice. Sent by the database itself, so a change made by any PiSync
-- version, by the command line tools or by hand in psql is heard too; PostgreSQL delivers it at
-- COMMIT, once per transaction. Sign-ins (which update other account columns) do not send it.
CREATE FUNCTION pisync_credentials_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('pisync_credentials', '');
    RETURN NULL;
END;
$$;

CREATE TRIGGER device_keys_changed AFTER UPDATE OR DELETE OR TRUNCATE ON device_keys
    FOR EACH STATEMENT EXECUTE FUNCTION pisync_credentials_changed();

CREATE TRIGGER accounts_changed AFTER UPDATE OF role OR DELETE OR TRUNCATE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION pisync_credentials_changed();
