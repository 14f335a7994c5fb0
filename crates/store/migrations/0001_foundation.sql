-- Foundation: territories, organisations, people, accounts, sessions, API tokens, audit.
-- One text for both databases: {{ID}}, {{CODE}} and {{BLOB}} are replaced per backend
-- (see src/migrate.rs). Times are epoch milliseconds (BIGINT); ids are BIGINT.

CREATE TABLE territories (
    code {{CODE}} PRIMARY KEY,
    name TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('city', 'district', 'township', 'village', 'grid')),
    parent_code {{CODE}} REFERENCES territories (code),
    geometry TEXT,
    urban_rural TEXT,
    updated_at_ms BIGINT NOT NULL
);
CREATE INDEX ix_territories_parent ON territories (parent_code);
CREATE INDEX ix_territories_level ON territories (level, code);

-- A counter bumped by every territory change, so each app server knows when to rebuild
-- its grid index.
CREATE TABLE territory_state (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO territory_state (id, version) VALUES (1, 0);

CREATE TABLE organisations (
    id {{ID}},
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    territory_code {{CODE}} NOT NULL REFERENCES territories (code),
    parent_id BIGINT REFERENCES organisations (id),
    created_at_ms BIGINT NOT NULL,
    CONSTRAINT uq_organisation_name_territory UNIQUE (territory_code, name)
);
CREATE INDEX ix_organisations_territory ON organisations (territory_code);

CREATE TABLE people (
    id {{ID}},
    name TEXT NOT NULL,
    phone TEXT,
    home_territory {{CODE}} REFERENCES territories (code),
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX ix_people_home ON people (home_territory);

CREATE TABLE accounts (
    person_id BIGINT PRIMARY KEY REFERENCES people (id),
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until_ms BIGINT NOT NULL DEFAULT 0,
    disabled BIGINT NOT NULL DEFAULT 0,
    password_changed_at_ms BIGINT NOT NULL,
    CONSTRAINT uq_account_username UNIQUE (username)
);

-- A post (职务) held by a person in an organisation, with the role it gives and the
-- territory subtree it covers.
CREATE TABLE memberships (
    id {{ID}},
    person_id BIGINT NOT NULL REFERENCES people (id),
    organisation_id BIGINT NOT NULL REFERENCES organisations (id),
    role TEXT NOT NULL,
    scope_code {{CODE}} NOT NULL REFERENCES territories (code),
    post TEXT NOT NULL,
    start_ms BIGINT NOT NULL,
    end_ms BIGINT
);
CREATE INDEX ix_memberships_person ON memberships (person_id);
CREATE INDEX ix_memberships_scope ON memberships (scope_code);

-- Browser sessions: the cookie holds a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    person_id BIGINT NOT NULL REFERENCES people (id),
    csrf_token TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX ix_sessions_person ON sessions (person_id);

-- API tokens for machine clients, stored hashed like sessions.
CREATE TABLE api_tokens (
    id {{ID}},
    token_hash TEXT NOT NULL,
    person_id BIGINT NOT NULL REFERENCES people (id),
    name TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT,
    CONSTRAINT uq_api_token_hash UNIQUE (token_hash)
);

-- Append-only, hash-chained audit log; audit_head holds the last seq and hash.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor_id BIGINT,
    action TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX ix_audit_object ON audit_log (object_type, object_id);
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
