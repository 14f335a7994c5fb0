-- gridwork: the people of each grid and their duty rosters, patrols and their tracks
-- (kept only for a limited time), findings linked to patrols, visit rules and visits,
-- quick records, and key tasks sent down as shares (work items of kind `gridwork.task`,
-- their heads in work_heads, their timelines here).

-- Who works in a grid and how (小巷管家, 志愿者, 网格员, 楼门长, 社区民警), in which team.
CREATE TABLE gridwork_members (
    id {{ID}},
    person_id BIGINT NOT NULL REFERENCES people (id),
    grid_code {{CODE}} NOT NULL REFERENCES territories (code),
    kind TEXT NOT NULL,
    team TEXT NOT NULL DEFAULT '',
    since_ms BIGINT NOT NULL,
    until_ms BIGINT,
    created_by BIGINT
);
CREATE INDEX ix_gridwork_members_grid ON gridwork_members (grid_code);
CREATE INDEX ix_gridwork_members_person ON gridwork_members (person_id);

-- Duty rosters (排班): who is on duty in which grid when.
CREATE TABLE gridwork_duties (
    id {{ID}},
    grid_code {{CODE}} NOT NULL REFERENCES territories (code),
    person_id BIGINT NOT NULL REFERENCES people (id),
    starts_ms BIGINT NOT NULL,
    ends_ms BIGINT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    created_by BIGINT,
    CHECK (ends_ms > starts_ms)
);
CREATE INDEX ix_gridwork_duties_grid ON gridwork_duties (grid_code, ends_ms);

-- Patrol plans: what to look at in a grid and how often.
CREATE TABLE gridwork_plans (
    id {{ID}},
    grid_code {{CODE}} NOT NULL REFERENCES territories (code),
    name TEXT NOT NULL,
    every_days BIGINT NOT NULL,
    places TEXT NOT NULL DEFAULT '[]',
    route TEXT,
    active BIGINT NOT NULL DEFAULT 1,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX ix_gridwork_plans_grid ON gridwork_plans (grid_code);

CREATE TABLE gridwork_patrols (
    id {{ID}},
    grid_code {{CODE}} NOT NULL REFERENCES territories (code),
    person_id BIGINT NOT NULL REFERENCES people (id),
    plan_id BIGINT REFERENCES gridwork_plans (id),
    started_at_ms BIGINT NOT NULL,
    ended_at_ms BIGINT,
    ended_by_system BIGINT NOT NULL DEFAULT 0,
    note TEXT NOT NULL DEFAULT '',
    points BIGINT NOT NULL DEFAULT 0,
    length_m DOUBLE PRECISION NOT NULL DEFAULT 0,
    track_deleted_at_ms BIGINT,
    idempotency_key TEXT,
    CONSTRAINT uq_gridwork_patrol_key UNIQUE (idempotency_key)
);
CREATE INDEX ix_gridwork_patrols_grid ON gridwork_patrols (grid_code, started_at_ms);
CREATE INDEX ix_gridwork_patrols_person ON gridwork_patrols (person_id, started_at_ms);
CREATE INDEX ix_gridwork_patrols_running ON gridwork_patrols (started_at_ms) WHERE ended_at_ms IS NULL;

-- A patrol's track, one row per upload (its `seq` is the phone's own count, so an upload
-- sent twice is stored once): zigzag varint deltas (wuzhi_domain::gridwork::track).
CREATE TABLE gridwork_track_chunks (
    patrol_id BIGINT NOT NULL REFERENCES gridwork_patrols (id),
    seq BIGINT NOT NULL,
    first_ms BIGINT NOT NULL,
    last_ms BIGINT NOT NULL,
    n BIGINT NOT NULL,
    points {{BLOB}} NOT NULL,
    PRIMARY KEY (patrol_id, seq)
);

-- Cases found during a patrol (reports and on-the-spot fixes).
CREATE TABLE gridwork_findings (
    case_id BIGINT PRIMARY KEY REFERENCES cases (id),
    patrol_id BIGINT NOT NULL REFERENCES gridwork_patrols (id),
    fixed BIGINT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX ix_gridwork_findings_patrol ON gridwork_findings (patrol_id);

-- Visit rules of a territory (a community edits its own; a grid follows the nearest
-- territory above it that has rules, else the defaults in the domain).
CREATE TABLE gridwork_visit_rules (
    id {{ID}},
    territory_code {{CODE}} NOT NULL REFERENCES territories (code),
    tag TEXT,
    every_days BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX ix_gridwork_visit_rules_territory ON gridwork_visit_rules (territory_code);

-- Household visits (走访). A household is named by its house and household reference in
-- the archives (`household_key`).
CREATE TABLE gridwork_visits (
    id {{ID}},
    grid_code {{CODE}} NOT NULL REFERENCES territories (code),
    household_key TEXT NOT NULL,
    house_id BIGINT,
    visitor_id BIGINT NOT NULL REFERENCES people (id),
    at_ms BIGINT NOT NULL,
    way TEXT NOT NULL,
    outcome TEXT NOT NULL,
    found TEXT NOT NULL DEFAULT '',
    needs TEXT NOT NULL DEFAULT '',
    photo_sha TEXT,
    photo_type TEXT,
    case_id BIGINT,
    created_at_ms BIGINT NOT NULL,
    idempotency_key TEXT,
    CONSTRAINT uq_gridwork_visit_key UNIQUE (idempotency_key)
);
CREATE INDEX ix_gridwork_visits_household ON gridwork_visits (household_key, at_ms);
CREATE INDEX ix_gridwork_visits_grid ON gridwork_visits (grid_code, at_ms);

-- Quick records (及时记): not yet cases; reviewed, and turned into a case when they become one.
CREATE TABLE gridwork_notes (
    id {{ID}},
    grid_code {{CODE}} NOT NULL REFERENCES territories (code),
    kind TEXT NOT NULL,
    text TEXT NOT NULL,
    lat DOUBLE PRECISION,
    lon DOUBLE PRECISION,
    house_id BIGINT,
    archive_person_id BIGINT,
    author_id BIGINT NOT NULL REFERENCES people (id),
    created_at_ms BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    reviewed_by BIGINT,
    reviewed_at_ms BIGINT,
    review_note TEXT,
    case_id BIGINT,
    idempotency_key TEXT,
    CONSTRAINT uq_gridwork_note_key UNIQUE (idempotency_key)
);
CREATE INDEX ix_gridwork_notes_grid ON gridwork_notes (grid_code, status, created_at_ms);

-- Key tasks (重点工作) and their shares, one per community or grid of the target subtree.
CREATE TABLE gridwork_tasks (
    id {{ID}},
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    checklist TEXT NOT NULL,
    territory_code {{CODE}} NOT NULL REFERENCES territories (code),
    level TEXT NOT NULL,
    deadline_ms BIGINT NOT NULL,
    org_id BIGINT REFERENCES organisations (id),
    created_by BIGINT,
    created_at_ms BIGINT NOT NULL,
    shares BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE gridwork_shares (
    id {{ID}},
    task_id BIGINT NOT NULL REFERENCES gridwork_tasks (id),
    territory_code {{CODE}} NOT NULL,
    items TEXT NOT NULL,
    items_done BIGINT NOT NULL DEFAULT 0,
    found BIGINT NOT NULL DEFAULT 0,
    cases BIGINT NOT NULL DEFAULT 0,
    done_at_ms BIGINT,
    on_time BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX ix_gridwork_shares_task ON gridwork_shares (task_id, territory_code);
CREATE INDEX ix_gridwork_shares_territory ON gridwork_shares (territory_code);
CREATE TABLE gridwork_share_events (
    id {{ID}},
    share_id BIGINT NOT NULL REFERENCES gridwork_shares (id),
    seq BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    actor_id BIGINT,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    CONSTRAINT uq_gridwork_share_event_seq UNIQUE (share_id, seq)
);
CREATE TABLE gridwork_share_cases (
    share_id BIGINT NOT NULL REFERENCES gridwork_shares (id),
    case_id BIGINT NOT NULL REFERENCES cases (id),
    item BIGINT NOT NULL,
    PRIMARY KEY (share_id, case_id)
);

-- Where a change to the archives came from (a visit, say), beside who made it.
ALTER TABLE archive_changes ADD COLUMN source TEXT;
