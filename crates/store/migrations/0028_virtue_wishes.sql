-- virtue: small wishes (微心愿). A community posts the wish of a resident in need with the
-- resident's consent recorded (`ck_wish_consent`); what the public reads is the title and
-- the text the community wrote for it, never the resident. One giver claims it (a
-- conditional UPDATE from open), fulfils it with evidence, and the resident — or the
-- community on their word — confirms; the giver is thanked by name only if they asked.
CREATE TABLE small_wishes (
    id {{ID}},
    territory_code {{CODE}} NOT NULL REFERENCES territories (code),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    value_yuan BIGINT NOT NULL CHECK (value_yuan BETWEEN 1 AND 1000),
    beneficiary_person_id BIGINT REFERENCES people (id),
    consent TEXT NOT NULL,
    posted_by BIGINT NOT NULL REFERENCES people (id),
    posted_at_ms BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'claimed', 'fulfilled', 'confirmed', 'withdrawn')),
    giver_person_id BIGINT REFERENCES people (id),
    giver_org_id BIGINT REFERENCES organisations (id),
    thank_publicly BIGINT NOT NULL DEFAULT 0,
    claimed_at_ms BIGINT,
    evidence TEXT,
    fulfilled_at_ms BIGINT,
    confirmed_by BIGINT REFERENCES people (id),
    confirmed_at_ms BIGINT,
    thanks TEXT,
    withdrawn_reason TEXT,
    CONSTRAINT ck_wish_consent CHECK (length(consent) > 0),
    CONSTRAINT ck_wish_giver CHECK (state IN ('open', 'withdrawn') OR giver_person_id IS NOT NULL),
    CONSTRAINT ck_wish_evidence CHECK (state NOT IN ('fulfilled', 'confirmed') OR evidence IS NOT NULL),
    CONSTRAINT ck_wish_not_self_given CHECK (giver_person_id IS NULL OR beneficiary_person_id IS NULL
        OR giver_person_id <> beneficiary_person_id)
);
CREATE INDEX ix_small_wishes_territory ON small_wishes (territory_code, state);
CREATE INDEX ix_small_wishes_giver ON small_wishes (giver_person_id);
