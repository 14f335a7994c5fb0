-- work: the head every work item has, whatever its kind (a case, and the modules' items to
-- come), in one table: the kernel's version check, the deadline sweep, and the outbox's item
-- are read here without knowing the kind. `version` is the item's optimistic-concurrency
-- token (a kind's own table copies it); `last_seq` is the last event's seq on its timeline,
-- so appending needs no scan of the timeline; `escalatable` says whether the current stage
-- may be escalated when overdue; `warned_due_ms` is the due time last warned of, so each
-- stage is warned once. The cases' heads are filled in from their rows, with the status sets
-- the domain defines (`{{CASES_OPEN}}`, `{{CASES_ESCALATABLE}}`: see migrate::render).
CREATE TABLE work_heads (
    kind TEXT NOT NULL,
    item_id BIGINT NOT NULL,
    territory_code {{CODE}} NOT NULL,
    owner_org_id BIGINT,
    status TEXT NOT NULL,
    open BIGINT NOT NULL,
    due_at_ms BIGINT,
    overdue BIGINT NOT NULL DEFAULT 0,
    escalatable BIGINT NOT NULL DEFAULT 0,
    warned_due_ms BIGINT,
    version BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (kind, item_id)
);
-- The sweep's three questions: due soon or past due and not yet marked; overdue and
-- escalatable, earliest first.
CREATE INDEX ix_work_heads_due ON work_heads (due_at_ms) WHERE open = 1 AND overdue = 0;
CREATE INDEX ix_work_heads_escalate ON work_heads (due_at_ms, kind, item_id) WHERE overdue = 1 AND escalatable = 1;
INSERT INTO work_heads (kind, item_id, territory_code, owner_org_id, status, open, due_at_ms, overdue, escalatable,
                        warned_due_ms, version, last_seq, updated_at_ms)
    SELECT 'case', c.id, c.territory_code, c.owner_org_id, c.status,
           CASE WHEN {{CASES_OPEN}} THEN 1 ELSE 0 END,
           c.due_at_ms, c.overdue,
           CASE WHEN {{CASES_ESCALATABLE}} THEN 1 ELSE 0 END,
           c.warned_due_ms, c.version,
           COALESCE((SELECT MAX(e.seq) FROM case_events e WHERE e.case_id = c.id), 0), c.updated_at_ms
    FROM cases c;
-- The outbox names the item a row is about by kind and id (any kind); `case_id` is kept
-- for rows written before.
ALTER TABLE outbox ADD COLUMN item_kind TEXT;
ALTER TABLE outbox ADD COLUMN item_id BIGINT;
UPDATE outbox SET item_kind = 'case', item_id = case_id WHERE case_id IS NOT NULL;
