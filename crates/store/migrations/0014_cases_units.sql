-- cases: per unit, how often a case was sent to it and how often it sent the case back, so
-- that 准确派遣率 charges a return to the unit that returned the case, not to whoever owns
-- it at the end (wuzhi_domain::kpi::unit_tally). Earlier history had only the case's
-- totals; it is attributed to the owner, as it was counted before.
CREATE TABLE case_units (
    case_id BIGINT NOT NULL REFERENCES cases (id),
    org_id BIGINT NOT NULL,
    dispatches BIGINT NOT NULL DEFAULT 0,
    returns BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (case_id, org_id)
);
CREATE INDEX ix_case_units_org ON case_units (org_id);
INSERT INTO case_units (case_id, org_id, dispatches, returns)
    SELECT id, owner_org_id, dispatches, total_returns FROM cases
    WHERE owner_org_id IS NOT NULL AND (dispatches > 0 OR total_returns > 0);
