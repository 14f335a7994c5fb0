-- archives: the base archives of houses, vehicles, people and things (房车人物). Every record
-- is attached to a grid (`grid_code`), and so to every level above it by prefix. `ref` is the
-- record's id in the system it was imported from, so files can point at one another's rows.
-- Fields the classification table marks encrypted are stored as `*_enc` blobs (a key id,
-- a nonce and AES-256-GCM ciphertext; the key never enters the database) and, where they
-- must be found, a keyed hash `*_hash` (a blind index); `key_id` is the key the row's blobs
-- were sealed with, so `archives rotate-key` finds what to re-seal. `*_mask` keeps the masked
-- form for lists. `version` counts the record's changes (its history is `archive_changes`).
CREATE TABLE archive_buildings (
    id {{ID}},
    ref TEXT NOT NULL,
    grid_code {{CODE}} NOT NULL REFERENCES territories (code),
    address TEXT NOT NULL,
    kind TEXT NOT NULL,
    floors BIGINT,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    version BIGINT NOT NULL DEFAULT 1,
    updated_at_ms BIGINT NOT NULL,
    CONSTRAINT uq_archive_building_ref UNIQUE (ref)
);
CREATE INDEX ix_archive_buildings_grid ON archive_buildings (grid_code);

CREATE TABLE archive_houses (
    id {{ID}},
    ref TEXT NOT NULL,
    building_id BIGINT NOT NULL REFERENCES archive_buildings (id),
    grid_code {{CODE}} NOT NULL,
    number TEXT NOT NULL,
    area_m2 DOUBLE PRECISION,
    use_kind TEXT NOT NULL,
    ownership TEXT NOT NULL DEFAULT '',
    version BIGINT NOT NULL DEFAULT 1,
    updated_at_ms BIGINT NOT NULL,
    CONSTRAINT uq_archive_house_ref UNIQUE (ref)
);
CREATE INDEX ix_archive_houses_building ON archive_houses (building_id);
CREATE INDEX ix_archive_houses_grid ON archive_houses (grid_code);

-- People (实有人口). `household_ref` groups the people of one household (户) living in one
-- house; `relation` is to the household's head. `birth_year` is kept in clear for the age
-- figures (the full date is sealed). `person_id` links the record to a signed-in account once
-- the person proved it is theirs. `anonymised_at_ms` is set when the retention sweep or a
-- deletion request erased the person's fields.
CREATE TABLE archive_people (
    id {{ID}},
    ref TEXT NOT NULL,
    grid_code {{CODE}} NOT NULL,
    house_id BIGINT REFERENCES archive_houses (id),
    household_ref TEXT,
    relation TEXT NOT NULL DEFAULT 'other',
    name TEXT NOT NULL,
    sex TEXT NOT NULL,
    birth_year BIGINT,
    birth_enc {{BLOB}},
    id_kind TEXT NOT NULL,
    id_enc {{BLOB}},
    id_hash TEXT,
    id_mask TEXT,
    phone_enc {{BLOB}},
    phone_hash TEXT,
    phone_mask TEXT,
    special_enc {{BLOB}},
    residence TEXT NOT NULL,
    moved_in_ms BIGINT,
    moved_out_ms BIGINT,
    key_id BIGINT NOT NULL,
    person_id BIGINT REFERENCES people (id),
    anonymised_at_ms BIGINT,
    version BIGINT NOT NULL DEFAULT 1,
    updated_at_ms BIGINT NOT NULL,
    CONSTRAINT uq_archive_person_ref UNIQUE (ref),
    CONSTRAINT uq_archive_person_id_hash UNIQUE (id_hash)
);
CREATE INDEX ix_archive_people_grid ON archive_people (grid_code, house_id);
CREATE INDEX ix_archive_people_house ON archive_people (house_id);
-- Partial indexes where most rows have nothing to find, so an import of millions does not
-- pay for them; key rotation scans (it is rare and goes slice by slice). `phone_hash` has no
-- index: nothing looks people up by phone (a claim compares it on the record found by its
-- identity number), and a random-keyed index is what a big import pays for most.
CREATE INDEX ix_archive_people_account ON archive_people (person_id) WHERE person_id IS NOT NULL;
CREATE INDEX ix_archive_people_moved_out ON archive_people (moved_out_ms)
    WHERE moved_out_ms IS NOT NULL AND anonymised_at_ms IS NULL;

-- Care groups (关爱对象): kept as rows, in clear, because grid work filters and counts them;
-- the special groups are sealed inside `archive_people.special_enc` instead.
CREATE TABLE archive_person_tags (
    person_id BIGINT NOT NULL REFERENCES archive_people (id),
    tag TEXT NOT NULL,
    grid_code {{CODE}} NOT NULL,
    PRIMARY KEY (person_id, tag)
);
CREATE INDEX ix_archive_tags_grid ON archive_person_tags (grid_code, tag);

CREATE TABLE archive_vehicles (
    id {{ID}},
    plate TEXT NOT NULL,
    new_energy BIGINT NOT NULL,
    grid_code {{CODE}} NOT NULL,
    owner_person_id BIGINT REFERENCES archive_people (id),
    owner_business_id BIGINT,
    parking TEXT NOT NULL DEFAULT '',
    version BIGINT NOT NULL DEFAULT 1,
    updated_at_ms BIGINT NOT NULL,
    CONSTRAINT uq_archive_vehicle_plate UNIQUE (plate)
);
CREATE INDEX ix_archive_vehicles_grid ON archive_vehicles (grid_code);
CREATE INDEX ix_archive_vehicles_owner ON archive_vehicles (owner_person_id) WHERE owner_person_id IS NOT NULL;

-- City components (部件, CJ/T 214) with the unit responsible for them.
CREATE TABLE archive_components (
    id {{ID}},
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    grid_code {{CODE}} NOT NULL,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    state TEXT NOT NULL,
    owner_org_id BIGINT REFERENCES organisations (id),
    version BIGINT NOT NULL DEFAULT 1,
    updated_at_ms BIGINT NOT NULL,
    CONSTRAINT uq_archive_component_code UNIQUE (code)
);
CREATE INDEX ix_archive_components_grid ON archive_components (grid_code);

-- Businesses and places (单位/场所) by their unified social credit code.
CREATE TABLE archive_businesses (
    id {{ID}},
    credit_code TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    grid_code {{CODE}} NOT NULL,
    address TEXT NOT NULL,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    contact_phone_enc {{BLOB}},
    contact_phone_mask TEXT,
    key_id BIGINT NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    updated_at_ms BIGINT NOT NULL,
    CONSTRAINT uq_archive_business_code UNIQUE (credit_code)
);
CREATE INDEX ix_archive_businesses_grid ON archive_businesses (grid_code);

-- Every change to a record: who, when, the field, and old → new. For a field the
-- classification seals, the values are sealed here too (`*_enc`), and `old_text`/`new_text`
-- hold only their masked forms.
CREATE TABLE archive_changes (
    id {{ID}},
    record TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    field TEXT NOT NULL,
    old_text TEXT,
    new_text TEXT,
    old_enc {{BLOB}},
    new_enc {{BLOB}},
    key_id BIGINT NOT NULL,
    actor_id BIGINT,
    at_ms BIGINT NOT NULL
);
CREATE INDEX ix_archive_changes_record ON archive_changes (record, record_id, id);

-- Requests to correct or delete one's data: a work item (kind `archives.request`), its head
-- in work_heads, its timeline here.
CREATE TABLE archive_requests (
    id {{ID}},
    archive_person_id BIGINT NOT NULL REFERENCES archive_people (id),
    requester_id BIGINT NOT NULL REFERENCES people (id),
    kind TEXT NOT NULL,
    field TEXT,
    detail TEXT NOT NULL,
    grid_code {{CODE}} NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX ix_archive_requests_requester ON archive_requests (requester_id);
CREATE TABLE archive_request_events (
    id {{ID}},
    request_id BIGINT NOT NULL REFERENCES archive_requests (id),
    seq BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    actor_id BIGINT,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    CONSTRAINT uq_archive_request_event_seq UNIQUE (request_id, seq)
);

-- Who read which person's data in clear, for the person's own view (PIPL art. 45) and the
-- bulk-read warning; the audit chain holds the same reads, hash-linked.
CREATE TABLE archive_reads (
    id {{ID}},
    archive_person_id BIGINT NOT NULL,
    actor_id BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    fields TEXT NOT NULL,
    purpose TEXT NOT NULL,
    audit_seq BIGINT NOT NULL
);
CREATE INDEX ix_archive_reads_person ON archive_reads (archive_person_id, at_ms);
CREATE INDEX ix_archive_reads_actor ON archive_reads (actor_id, at_ms);

-- The records a work item names (a case about a building, a component, a person…).
CREATE TABLE archive_links (
    item_kind TEXT NOT NULL,
    item_id BIGINT NOT NULL,
    record TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (item_kind, item_id, record, record_id)
);
CREATE INDEX ix_archive_links_record ON archive_links (record, record_id);
