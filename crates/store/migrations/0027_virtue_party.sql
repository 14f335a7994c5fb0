-- virtue: party members registering with the community where they live (双报到). A party
-- member is a person with a post in a party organisation (a membership); their registration
-- names the community, the organisation they belong to and the service posts they chose.
-- One registration is in force per person (a new one, after moving house, ends the old).
CREATE TABLE party_reports (
    id {{ID}},
    person_id BIGINT NOT NULL REFERENCES people (id),
    party_org_id BIGINT NOT NULL REFERENCES organisations (id),
    community_code {{CODE}} NOT NULL REFERENCES territories (code),
    posts TEXT NOT NULL,
    registered_at_ms BIGINT NOT NULL,
    ended_at_ms BIGINT
);
CREATE UNIQUE INDEX uq_party_report_active ON party_reports (person_id) WHERE ended_at_ms IS NULL;
CREATE INDEX ix_party_reports_community ON party_reports (community_code, ended_at_ms);
