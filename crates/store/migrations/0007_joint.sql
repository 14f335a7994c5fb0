-- 吹哨报到 and 联合处置: summoned departments (JSON list of {org, checked_in_ms}) with their
-- check-in deadline, and the units cooperating with the owner (JSON list of ids).
ALTER TABLE cases ADD COLUMN summons TEXT;
ALTER TABLE cases ADD COLUMN summon_due_ms BIGINT;
ALTER TABLE cases ADD COLUMN cooperating TEXT;
