-- virtue: civilised-rating campaigns (文明评选). A campaign of a territory in its stage; the
-- nominations with who put them forward, the deeds and the committee's review; the vote kept
-- anonymous by construction — `rating_voters` records that a resident voted in a campaign
-- (once: the primary key) and the nomination only counts its votes; objections during the
-- publicity period, each answered.
CREATE TABLE rating_campaigns (
    id {{ID}},
    territory_code {{CODE}} NOT NULL REFERENCES territories (code),
    kind TEXT NOT NULL CHECK (kind IN ('person', 'household', 'community')),
    honour TEXT NOT NULL,
    title TEXT NOT NULL,
    criteria TEXT NOT NULL,
    places BIGINT NOT NULL CHECK (places BETWEEN 1 AND 100),
    stage TEXT NOT NULL CHECK (stage IN ('nominating', 'voting', 'publicity', 'awarded')),
    nominations_close_ms BIGINT NOT NULL,
    vote_days BIGINT NOT NULL CHECK (vote_days BETWEEN 1 AND 30),
    publicity_days BIGINT NOT NULL CHECK (publicity_days BETWEEN 1 AND 30),
    vote_closes_at_ms BIGINT,
    publicity_ends_at_ms BIGINT,
    awarded_at_ms BIGINT,
    rule_id BIGINT REFERENCES points_rules (id),
    created_by BIGINT NOT NULL REFERENCES people (id),
    created_at_ms BIGINT NOT NULL,
    CONSTRAINT ck_rating_stage_times CHECK (
        (stage = 'nominating')
        OR (stage = 'voting' AND vote_closes_at_ms IS NOT NULL)
        OR (stage = 'publicity' AND publicity_ends_at_ms IS NOT NULL)
        OR (stage = 'awarded' AND awarded_at_ms IS NOT NULL))
);
CREATE INDEX ix_rating_campaigns_territory ON rating_campaigns (territory_code, created_at_ms);

CREATE TABLE rating_nominations (
    id {{ID}},
    campaign_id BIGINT NOT NULL REFERENCES rating_campaigns (id),
    nominee_person_id BIGINT REFERENCES people (id),
    nominee_territory {{CODE}} REFERENCES territories (code),
    household_key TEXT,
    shown_name TEXT NOT NULL,
    by_kind TEXT NOT NULL CHECK (by_kind IN ('self', 'neighbour', 'committee')),
    nominated_by BIGINT NOT NULL REFERENCES people (id),
    deeds TEXT NOT NULL,
    standing TEXT NOT NULL CHECK (standing IN ('awaiting_consent', 'submitted', 'accepted', 'rejected',
        'declined', 'proposed', 'struck', 'awarded')),
    review_note TEXT NOT NULL DEFAULT '',
    reviewed_by BIGINT REFERENCES people (id),
    reviewed_at_ms BIGINT,
    votes BIGINT NOT NULL DEFAULT 0 CHECK (votes >= 0),
    created_at_ms BIGINT NOT NULL,
    -- A person or a household is nominated by a person; a community only by the committee.
    CONSTRAINT ck_rating_nominee CHECK (
        (nominee_person_id IS NOT NULL AND nominee_territory IS NULL)
        OR (nominee_person_id IS NULL AND nominee_territory IS NOT NULL AND by_kind = 'committee')),
    CONSTRAINT ck_rating_self CHECK (by_kind <> 'self' OR nominated_by = nominee_person_id),
    CONSTRAINT ck_rating_not_self_reviewed CHECK (reviewed_by IS NULL OR nominee_person_id IS NULL
        OR reviewed_by <> nominee_person_id),
    CONSTRAINT uq_rating_nominee_person UNIQUE (campaign_id, nominee_person_id),
    CONSTRAINT uq_rating_nominee_household UNIQUE (campaign_id, household_key),
    CONSTRAINT uq_rating_nominee_territory UNIQUE (campaign_id, nominee_territory)
);
CREATE INDEX ix_rating_nominations_person ON rating_nominations (nominee_person_id);
CREATE INDEX ix_rating_nominations_by ON rating_nominations (nominated_by);
CREATE INDEX ix_rating_nominations_awarded ON rating_nominations (standing, campaign_id);

CREATE TABLE rating_voters (
    campaign_id BIGINT NOT NULL REFERENCES rating_campaigns (id),
    person_id BIGINT NOT NULL REFERENCES people (id),
    PRIMARY KEY (campaign_id, person_id)
);

CREATE TABLE rating_objections (
    id {{ID}},
    nomination_id BIGINT NOT NULL REFERENCES rating_nominations (id),
    person_id BIGINT NOT NULL REFERENCES people (id),
    reason TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    decision TEXT CHECK (decision IN ('upheld', 'dismissed')),
    answer TEXT,
    answered_by BIGINT REFERENCES people (id),
    answered_at_ms BIGINT,
    CONSTRAINT ck_rating_objection_answer CHECK ((decision IS NULL) = (answer IS NULL)),
    CONSTRAINT uq_rating_objection UNIQUE (nomination_id, person_id)
);
CREATE INDEX ix_rating_objections_nomination ON rating_objections (nomination_id);
