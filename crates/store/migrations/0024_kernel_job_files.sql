-- kernel: background jobs with parameters (an export's filter and format) and files (what an
-- export made), so big exports run as jobs too. A job's `scope_key` says what "one at a time"
-- means for its kind: '' for one in the whole system (training the classifier), the asker's
-- id for one per person (exports). Its file is kept in chunks in the database, so any app
-- server sharing it serves the download, and each row stays small.
ALTER TABLE jobs ADD COLUMN params TEXT;
ALTER TABLE jobs ADD COLUMN scope_key TEXT NOT NULL DEFAULT '';
DROP INDEX uq_jobs_active_kind;
CREATE UNIQUE INDEX uq_jobs_active ON jobs (kind, scope_key) WHERE state IN ('queued', 'running');
CREATE TABLE job_files (
    job_id BIGINT NOT NULL REFERENCES jobs (id),
    seq BIGINT NOT NULL,
    bytes {{BLOB}} NOT NULL,
    PRIMARY KEY (job_id, seq)
);
