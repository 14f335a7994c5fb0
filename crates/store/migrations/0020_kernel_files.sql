-- kernel: stored files (attachments, visit photos) in the database, content-addressed, on
-- PostgreSQL, so every app server sharing the database reads what any of them stored. (On
-- SQLite, one server's data directory keeps them as files; the table stays empty.)
CREATE TABLE stored_files (
    sha256 TEXT PRIMARY KEY,
    size_bytes BIGINT NOT NULL,
    bytes {{BLOB}} NOT NULL,
    created_at_ms BIGINT NOT NULL
);
