-- Devices registered by an admin (or enrolled with the fleet token), with their keys.
CREATE TABLE registered_devices (
    device_id     text PRIMARY KEY,
    device_type   text NOT NULL CHECK (device_type IN ('PiBook', 'PiBox')),
    group_name    text NOT NULL,
    labels        jsonb NOT NULL DEFAULT '{}',
    registered_at timestamptz NOT NULL,
    registered_by text NOT NULL           -- account name, 'enrolment' or 'cli'
);

-- Only SHA-256 digests of keys are kept: a key is 256 random bits, so a fast digest is enough.
CREATE TABLE device_keys (
    key_hash   bytea PRIMARY KEY,
    device_id  text NOT NULL REFERENCES registered_devices ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz,               -- set when rotated: the grace period's end
    revoked_at timestamptz
);
CREATE INDEX device_keys_device_idx ON device_keys (device_id);

CREATE TABLE accounts (
    username         text PRIMARY KEY,
    password_hash    text NOT NULL,
    role             text NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    created_at       timestamptz NOT NULL,
    failed_logins    integer NOT NULL DEFAULT 0,
    locked_until     timestamptz
);

CREATE TABLE refresh_tokens (
    token_hash bytea PRIMARY KEY,
    username   text NOT NULL REFERENCES accounts ON DELETE CASCADE ON UPDATE CASCADE,
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (username);

-- Bucket4j's table for rate limits shared by several server instances.
CREATE TABLE rate_limit_buckets (
    id         text PRIMARY KEY,
    state      bytea,
    expires_at bigint
);
