-- A sign-in starts a session. Its refresh tokens (each spent for the next) and the access tokens
-- they mint carry the session's id; logout ends the session, so its access tokens are refused at
-- once on every instance instead of running out their minutes. Tokens issued before this carry
-- no session and keep the old rule (the access token runs out by itself).
ALTER TABLE refresh_tokens ADD COLUMN session_id uuid;
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id) WHERE session_id IS NOT NULL;

-- Kept until no token of the session can be valid any more (auth.Tokens.removeEndedSessions).
CREATE TABLE ended_sessions (
    session_id uuid PRIMARY KEY,
    ended_at   timestamptz NOT NULL
);
CREATE INDEX ended_sessions_ended_idx ON ended_sessions (ended_at);

-- Instances forget what they remembered of sessions when one ends (see V6). Only a row inserted
-- ends one: a logout repeated with a spent token (ON CONFLICT DO NOTHING) and the clean-up's
-- deletes (every few minutes) must not make every instance forget.
CREATE TRIGGER ended_sessions_changed AFTER INSERT ON ended_sessions
    FOR EACH ROW EXECUTE FUNCTION pisync_credentials_changed();
