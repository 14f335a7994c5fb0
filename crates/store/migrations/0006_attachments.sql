-- Photos and documents attached to cases. The bytes live in the data directory under
-- their SHA-256 (content-addressed, so a photo sent twice is stored once).
CREATE TABLE attachments (
    id {{ID}},
    case_id BIGINT NOT NULL REFERENCES cases (id),
    sha256 TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    name TEXT NOT NULL,
    uploaded_by BIGINT,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX ix_attachments_case ON attachments (case_id);
