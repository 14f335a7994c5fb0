-- virtue: volunteer service (志愿服务, 新时代文明实践). Practice centres, stations and
-- volunteer teams are organisations; a volunteer is a person who registered (or a grid
-- work's alley steward or volunteer, registered by the community). An activity holds its
-- places as a counter the database keeps within the capacity, so concurrent sign-ups can
-- never overfill it; one sign-up per person and activity; the attendance that credits
-- hours is confirmed by someone other than the volunteer.
CREATE TABLE volunteers (
    person_id BIGINT PRIMARY KEY REFERENCES people (id),
    skills TEXT NOT NULL DEFAULT '',
    team_org_id BIGINT REFERENCES organisations (id),
    registered_at_ms BIGINT NOT NULL
);

CREATE TABLE volunteer_activities (
    id {{ID}},
    organiser_org_id BIGINT NOT NULL REFERENCES organisations (id),
    territory_code {{CODE}} NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    place TEXT NOT NULL,
    starts_at_ms BIGINT NOT NULL,
    ends_at_ms BIGINT NOT NULL,
    capacity BIGINT NOT NULL CHECK (capacity BETWEEN 1 AND 10000),
    taken BIGINT NOT NULL DEFAULT 0,
    skills TEXT NOT NULL DEFAULT '',
    -- Sign-ups wait for the organiser's approval (otherwise a free place is taken at once).
    approval BIGINT NOT NULL DEFAULT 0,
    -- Points an hour of verified service earns, by this rule.
    rule_id BIGINT REFERENCES points_rules (id),
    state TEXT NOT NULL CHECK (state IN ('open', 'completed', 'cancelled')),
    created_by BIGINT REFERENCES people (id),
    created_at_ms BIGINT NOT NULL,
    closed_at_ms BIGINT,
    CONSTRAINT ck_volunteer_span CHECK (ends_at_ms > starts_at_ms),
    CONSTRAINT ck_volunteer_capacity CHECK (taken >= 0 AND taken <= capacity)
);
CREATE INDEX ix_volunteer_activities_territory ON volunteer_activities (territory_code, starts_at_ms);
CREATE INDEX ix_volunteer_activities_starts ON volunteer_activities (state, starts_at_ms);

CREATE TABLE volunteer_signups (
    id {{ID}},
    activity_id BIGINT NOT NULL REFERENCES volunteer_activities (id),
    person_id BIGINT NOT NULL REFERENCES people (id),
    state TEXT NOT NULL CHECK (state IN ('applied', 'accepted', 'declined', 'withdrawn')),
    note TEXT NOT NULL DEFAULT '',
    applied_at_ms BIGINT NOT NULL,
    decided_by BIGINT REFERENCES people (id),
    decided_at_ms BIGINT,
    reason TEXT,
    -- Verified service: minutes the organiser saw, who confirmed it and when.
    minutes BIGINT CHECK (minutes IS NULL OR minutes BETWEEN 1 AND 720),
    confirmed_by BIGINT REFERENCES people (id),
    confirmed_at_ms BIGINT,
    transfer_id BIGINT REFERENCES points_transfers (id),
    CONSTRAINT uq_volunteer_signup UNIQUE (activity_id, person_id),
    CONSTRAINT ck_volunteer_not_self_confirmed CHECK (confirmed_by IS NULL OR confirmed_by <> person_id),
    CONSTRAINT ck_volunteer_attended_accepted CHECK (minutes IS NULL OR (state = 'accepted' AND confirmed_by IS NOT NULL))
);
CREATE INDEX ix_volunteer_signups_person ON volunteer_signups (person_id, activity_id);
