-- kernel: when a session was last used, for the idle timeout (a session unused for longer
-- than the setting ends, besides its absolute limit). Sessions from before count as used
-- when they were created.
ALTER TABLE sessions ADD COLUMN last_seen_at_ms BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET last_seen_at_ms = created_at_ms;
