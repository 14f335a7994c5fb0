-- Performance evaluation: whether filing was on time, and indexes for period queries.
ALTER TABLE cases ADD COLUMN filed_late BIGINT NOT NULL DEFAULT 0;
CREATE INDEX ix_cases_filed ON cases (filed_at_ms);
