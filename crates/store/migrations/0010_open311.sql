-- Open311 GeoReport v2: the attributes a category (an Open311 service) asks for, the
-- answers and reporter e-mail a case carries, and the API keys of integrating systems.
CREATE TABLE category_attributes (
    category_code TEXT NOT NULL REFERENCES categories (code),
    code TEXT NOT NULL,
    datatype TEXT NOT NULL CHECK (datatype IN ('string', 'number', 'datetime', 'text', 'singlevaluelist', 'multivaluelist')),
    required BIGINT NOT NULL DEFAULT 0,
    variable BIGINT NOT NULL DEFAULT 1,
    datatype_description TEXT NOT NULL DEFAULT '',
    ord BIGINT NOT NULL,
    description TEXT NOT NULL,
    choices TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (category_code, code)
);

ALTER TABLE cases ADD COLUMN attributes TEXT;
ALTER TABLE cases ADD COLUMN reporter_email TEXT;

CREATE TABLE open311_keys (
    id {{ID}},
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    rate_per_minute BIGINT NOT NULL,
    window_start_ms BIGINT NOT NULL DEFAULT 0,
    window_count BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);

CREATE INDEX ix_case_events_at ON case_events (at_ms);

-- Live views read the outbox by time.
CREATE INDEX ix_outbox_created ON outbox (created_at_ms);
