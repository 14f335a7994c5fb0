-- cases: whether a case is public (Open311 reads, the public case page, the look-up of
-- similar cases while a resident writes). Set at intake by the rule in the domain
-- (wuzhi_domain::cases::public): a report made through a public channel is public unless
-- its reporter said otherwise; anonymous reports, hotline calls and imported history are not.
ALTER TABLE cases ADD COLUMN public BIGINT NOT NULL DEFAULT 0;
UPDATE cases SET public = 1 WHERE anonymous = 0 AND channel IN ('app', 'grid', 'sensor', 'open311');
CREATE INDEX ix_cases_public ON cases (public, created_at_ms);
