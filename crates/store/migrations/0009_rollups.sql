-- Roll-ups for evaluation at city scale, kept current in the transaction that changes a
-- case: indicator counters per filing day, district and owning unit; a handling-time
-- histogram (30-minute buckets) per filing day and district; open cases per territory.
CREATE TABLE kpi_days (
    day BIGINT NOT NULL,
    district {{CODE}} NOT NULL,
    org BIGINT NOT NULL,
    filed BIGINT NOT NULL DEFAULT 0,
    filed_on_time BIGINT NOT NULL DEFAULT 0,
    closed BIGINT NOT NULL DEFAULT 0,
    closed_on_time BIGINT NOT NULL DEFAULT 0,
    closed_late BIGINT NOT NULL DEFAULT 0,
    reworked BIGINT NOT NULL DEFAULT 0,
    dispatches BIGINT NOT NULL DEFAULT 0,
    returns BIGINT NOT NULL DEFAULT 0,
    rated BIGINT NOT NULL DEFAULT 0,
    satisfied BIGINT NOT NULL DEFAULT 0,
    handling_ms BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, district, org)
);
CREATE TABLE kpi_hist (
    day BIGINT NOT NULL,
    district {{CODE}} NOT NULL,
    bucket BIGINT NOT NULL,
    n BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, district, bucket)
);
CREATE TABLE open_cases (
    territory_code {{CODE}} PRIMARY KEY,
    open BIGINT NOT NULL DEFAULT 0
);
-- The open part of 应结案数 is counted from the index alone.
CREATE INDEX ix_cases_open_due ON cases (status, filed_at_ms, due_at_ms, territory_code);
