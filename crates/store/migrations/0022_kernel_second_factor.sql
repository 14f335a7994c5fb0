-- kernel: two-factor sign-in (TOTP, RFC 6238). An account's secret is sealed by the vault
-- (as the archives' sealed fields are); totp_last_step is the last time step accepted, so a
-- code is accepted once. A sign-in whose password was right and whose account needs a
-- second factor gets a challenge: a random token (only its SHA-256 kept) that the code
-- must come back with before it runs out; an enrolment carries the new secret, sealed, until
-- its first code confirms it.
ALTER TABLE accounts ADD COLUMN totp_secret {{BLOB}};
ALTER TABLE accounts ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN totp_enrolled_at_ms BIGINT;

CREATE TABLE sign_in_challenges (
    token_hash TEXT PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id),
    -- 'sign_in': the code of the enrolled secret completes a sign-in; 'enrol': the code of
    -- new_secret enrols it and completes the sign-in; 'add': a signed-in person enrols.
    purpose TEXT NOT NULL,
    new_secret {{BLOB}},
    source TEXT NOT NULL,
    wrong_codes BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX ix_sign_in_challenges_person ON sign_in_challenges (person_id);
CREATE INDEX ix_sign_in_challenges_expires ON sign_in_challenges (expires_at_ms);
