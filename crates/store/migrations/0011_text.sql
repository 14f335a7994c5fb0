-- Chinese text intelligence: classifier models (versioned; one active), its settings,
-- and residents' support for a case (附议: "me too"), counted for hot topics.
CREATE TABLE text_models (
    id {{ID}},
    created_at_ms BIGINT NOT NULL,
    created_by BIGINT,
    examples BIGINT NOT NULL,
    labels BIGINT NOT NULL,
    accuracy DOUBLE PRECISION NOT NULL,
    macro_f1 DOUBLE PRECISION NOT NULL,
    report TEXT NOT NULL,
    model TEXT NOT NULL,
    active BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE text_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE case_supporters (
    case_id BIGINT NOT NULL REFERENCES cases (id),
    person_id BIGINT NOT NULL REFERENCES people (id),
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (case_id, person_id)
);

-- Supports of a case: residents' through case_supporters, plus those carried over from
-- another system (a message board's likes) at import.
CREATE TABLE case_support_totals (
    case_id BIGINT PRIMARY KEY REFERENCES cases (id),
    supports BIGINT NOT NULL
);

-- Duplicate candidates read the recent cases of an area.
CREATE INDEX ix_cases_territory_created ON cases (territory_code, created_at_ms);
