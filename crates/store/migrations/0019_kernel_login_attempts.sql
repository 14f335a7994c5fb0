-- kernel: failed sign-ins counted per (username, source address), and per source address
-- across usernames (username ''), so an attacker elsewhere cannot lock a person out and an
-- unknown username locks like a known one. Each lock is longer than the one before it.
-- (accounts.failed_logins and accounts.locked_until_ms are no longer read.)
CREATE TABLE login_attempts (
    username TEXT NOT NULL,
    source TEXT NOT NULL,
    failures BIGINT NOT NULL DEFAULT 0,
    locked_until_ms BIGINT NOT NULL DEFAULT 0,
    lockouts BIGINT NOT NULL DEFAULT 0,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (username, source)
);
CREATE INDEX ix_login_attempts_updated ON login_attempts (updated_at_ms);
