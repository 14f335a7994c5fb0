-- virtue: officials reporting to residents (向群众汇报). A report of a territory with what
-- was done; its commitments with their progress; ratings kept anonymous by construction:
-- `official_raters` records that a person rated a subject (once: the primary key), and
-- `official_scores` only how many gave each score — no row ties a person to a score.
CREATE TABLE official_reports (
    id {{ID}},
    territory_code {{CODE}} NOT NULL REFERENCES territories (code),
    official_person_id BIGINT NOT NULL REFERENCES people (id),
    title TEXT NOT NULL,
    way TEXT NOT NULL CHECK (way IN ('meeting', 'home_visits')),
    held_at_ms BIGINT NOT NULL,
    place TEXT NOT NULL,
    done TEXT NOT NULL,
    rating_closes_at_ms BIGINT NOT NULL,
    created_by BIGINT NOT NULL REFERENCES people (id),
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX ix_official_reports_territory ON official_reports (territory_code, held_at_ms);

CREATE TABLE official_commitments (
    id {{ID}},
    report_id BIGINT NOT NULL REFERENCES official_reports (id),
    text TEXT NOT NULL,
    due_ms BIGINT NOT NULL,
    progress BIGINT NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    progress_note TEXT NOT NULL DEFAULT '',
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX ix_official_commitments_report ON official_commitments (report_id);

CREATE TABLE official_raters (
    subject TEXT NOT NULL CHECK (subject IN ('report', 'commitment')),
    subject_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL REFERENCES people (id),
    PRIMARY KEY (subject, subject_id, person_id)
);

CREATE TABLE official_scores (
    subject TEXT NOT NULL CHECK (subject IN ('report', 'commitment')),
    subject_id BIGINT NOT NULL,
    score BIGINT NOT NULL CHECK (score BETWEEN 1 AND 5),
    n BIGINT NOT NULL CHECK (n >= 0),
    PRIMARY KEY (subject, subject_id, score)
);
