-- Risk early warning (风险预警): warnings as work items of kind `warnings.warning`, their
-- evidence, the detectors' parameters per territory, the sensitive-word lexicon, and the one
-- detector lease that lets one app server at a time run the detectors over the outbox.

CREATE TABLE warnings (
    id {{ID}},
    rule TEXT NOT NULL,
    dedup_key TEXT NOT NULL,
    level TEXT NOT NULL,
    territory_code {{CODE}} NOT NULL,
    category_code TEXT,
    detail TEXT NOT NULL,
    -- The projection of the timeline at the head's version.
    status TEXT NOT NULL,
    open BIGINT NOT NULL,
    unit_org_id BIGINT REFERENCES organisations (id),
    -- The evidence as the detector last saw it.
    observed BIGINT NOT NULL,
    expected DOUBLE PRECISION NOT NULL,
    window_ms BIGINT NOT NULL,
    p DOUBLE PRECISION,
    rule_version BIGINT NOT NULL,
    cases BIGINT NOT NULL DEFAULT 0,
    first_case_at_ms BIGINT NOT NULL,
    raised_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
-- One open warning per rule and key: a second server's or a second pass's signal grows it.
CREATE UNIQUE INDEX uq_warnings_open ON warnings (rule, dedup_key) WHERE open = 1;
CREATE INDEX ix_warnings_territory ON warnings (territory_code, raised_at_ms);
CREATE INDEX ix_warnings_raised ON warnings (raised_at_ms);

CREATE TABLE warning_events (
    id {{ID}},
    warning_id BIGINT NOT NULL REFERENCES warnings (id),
    seq BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    actor_id BIGINT,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    CONSTRAINT uq_warning_event_seq UNIQUE (warning_id, seq)
);

-- The cases that are its evidence, each once.
CREATE TABLE warning_cases (
    warning_id BIGINT NOT NULL REFERENCES warnings (id),
    case_id BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    PRIMARY KEY (warning_id, case_id)
);
CREATE INDEX ix_warning_cases_case ON warning_cases (case_id);

-- Observed against expected each time the detector fired: the warning page's small chart.
CREATE TABLE warning_points (
    warning_id BIGINT NOT NULL REFERENCES warnings (id),
    at_ms BIGINT NOT NULL,
    observed BIGINT NOT NULL,
    expected DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (warning_id, at_ms)
);

-- The detectors' parameters: the city's set ('' territory) and territories' own.
CREATE TABLE warning_rules (
    territory_code {{CODE}} PRIMARY KEY,
    params TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_by BIGINT,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE warning_lexicon (
    id {{ID}},
    phrase TEXT NOT NULL,
    class TEXT NOT NULL,
    level TEXT NOT NULL,
    categories TEXT NOT NULL,
    active BIGINT NOT NULL,
    updated_by BIGINT,
    updated_at_ms BIGINT NOT NULL,
    CONSTRAINT uq_warning_lexicon_phrase UNIQUE (phrase)
);

-- The detector lease (one row): who runs the detectors until when, where in the outbox they
-- are, the configuration generation they run on, and the last day a digest was sent.
CREATE TABLE warning_detector (
    id BIGINT PRIMARY KEY,
    holder TEXT,
    until_ms BIGINT NOT NULL,
    cursor_ms BIGINT NOT NULL,
    cursor_id BIGINT NOT NULL,
    generation BIGINT NOT NULL,
    digest_day BIGINT NOT NULL
);
INSERT INTO warning_detector (id, holder, until_ms, cursor_ms, cursor_id, generation, digest_day) VALUES (1, NULL, 0, 0, 0, 1, 0);
