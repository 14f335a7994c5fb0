-- Deadline warnings and the per-person inbox.

-- The due time a warning was last sent for, so each stage is warned once.
ALTER TABLE cases ADD COLUMN warned_due_ms BIGINT;

CREATE TABLE notifications (
    id {{ID}},
    person_id BIGINT NOT NULL REFERENCES people (id),
    case_id BIGINT REFERENCES cases (id),
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    read_at_ms BIGINT
);
CREATE INDEX ix_notifications_person ON notifications (person_id, id);

-- Outbox processing: a row is claimed by one app server at a time, then marked processed.
ALTER TABLE outbox ADD COLUMN processed BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until_ms BIGINT;
CREATE INDEX ix_outbox_pending ON outbox (processed, id);
