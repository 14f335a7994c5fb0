-- Case hub: categories, the working calendar, cases with their append-only timeline, and
-- the outbox every change writes in the same transaction.

CREATE TABLE categories (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    parent_code TEXT REFERENCES categories (code),
    kind TEXT NOT NULL,
    emergency BIGINT NOT NULL DEFAULT 0,
    accept_limit TEXT,
    handle_limit TEXT,
    verify_limit TEXT,
    priority TEXT,
    default_org TEXT,
    filing_condition TEXT,
    closing_condition TEXT,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX ix_categories_parent ON categories (parent_code);

-- Exceptions to "Monday–Friday work": public holidays and adjusted working days (调休).
CREATE TABLE calendar_days (
    day BIGINT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name TEXT NOT NULL
);

CREATE TABLE cases (
    id {{ID}},
    channel TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    description TEXT NOT NULL,
    category_code TEXT REFERENCES categories (code),
    priority TEXT,
    status TEXT NOT NULL,
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    address TEXT,
    territory_code {{CODE}} NOT NULL REFERENCES territories (code),
    reporter_id BIGINT REFERENCES people (id),
    reporter_name TEXT,
    reporter_phone TEXT,
    anonymous BIGINT NOT NULL DEFAULT 0,
    owner_org_id BIGINT REFERENCES organisations (id),
    due_at_ms BIGINT,
    overdue BIGINT NOT NULL DEFAULT 0,
    returns BIGINT NOT NULL DEFAULT 0,
    total_returns BIGINT NOT NULL DEFAULT 0,
    dispatches BIGINT NOT NULL DEFAULT 0,
    reworks BIGINT NOT NULL DEFAULT 0,
    extension_until_ms BIGINT,
    satisfaction TEXT,
    merged_into BIGINT REFERENCES cases (id),
    filed_at_ms BIGINT,
    closed_at_ms BIGINT,
    closed_late BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    idempotency_key TEXT,
    CONSTRAINT uq_case_idempotency UNIQUE (idempotency_key)
);
CREATE INDEX ix_cases_territory ON cases (territory_code, status);
CREATE INDEX ix_cases_owner ON cases (owner_org_id, status);
CREATE INDEX ix_cases_reporter ON cases (reporter_id);
CREATE INDEX ix_cases_due ON cases (status, due_at_ms);
CREATE INDEX ix_cases_created ON cases (created_at_ms);

CREATE TABLE case_events (
    id {{ID}},
    case_id BIGINT NOT NULL REFERENCES cases (id),
    seq BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    actor_id BIGINT,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    CONSTRAINT uq_case_event_seq UNIQUE (case_id, seq)
);

CREATE TABLE outbox (
    id {{ID}},
    topic TEXT NOT NULL,
    case_id BIGINT,
    payload TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
