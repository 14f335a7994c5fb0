-- kernel: long work (training the classifier, …) as background jobs, not inside a request.
-- A job is queued by a request and run by whichever app server claims it first: the claim
-- is a conditional UPDATE with a lease the runner renews, so a job is run by one server at a
-- time and one whose server died is taken again when its lease lapses. At most one job of a
-- kind is queued or running (a partial unique index), so a second request finds the first.
CREATE TABLE jobs (
    id {{ID}},
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    requested_by BIGINT REFERENCES people (id),
    progress DOUBLE PRECISION NOT NULL DEFAULT 0,
    stage TEXT NOT NULL DEFAULT '',
    result TEXT,
    error TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    worker TEXT,
    lease_until_ms BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    started_at_ms BIGINT,
    finished_at_ms BIGINT
);
CREATE INDEX ix_jobs_state ON jobs (state, id);
CREATE UNIQUE INDEX uq_jobs_active_kind ON jobs (kind) WHERE state IN ('queued', 'running');
