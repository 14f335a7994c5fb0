-- virtue: the points ledger (积分制). Each transfer moves a positive amount from one account
-- to another, so it sums to zero by its shape; the accounts keep four counters that every
-- transfer moves in the same transaction, and the database refuses a person's or
-- household's account whose debits (pending ones included) would pass its posted credits —
-- so concurrent spending can never overdraw it. Transfers are never edited except their
-- state (pending → posted or voided); each carries a keyed seal of its facts (`seal`) that
-- `wuzhi points verify` checks, with the counters against the sums.
CREATE TABLE points_accounts (
    id {{ID}},
    kind TEXT NOT NULL CHECK (kind IN ('person', 'household', 'fund')),
    territory_code {{CODE}} NOT NULL,
    person_id BIGINT REFERENCES people (id),
    household_key TEXT,
    name TEXT NOT NULL,
    debits_pending BIGINT NOT NULL DEFAULT 0 CHECK (debits_pending >= 0),
    debits_posted BIGINT NOT NULL DEFAULT 0 CHECK (debits_posted >= 0),
    credits_pending BIGINT NOT NULL DEFAULT 0 CHECK (credits_pending >= 0),
    credits_posted BIGINT NOT NULL DEFAULT 0 CHECK (credits_posted >= 0),
    created_at_ms BIGINT NOT NULL,
    CONSTRAINT ck_points_no_overdraft CHECK (kind = 'fund' OR credits_posted >= debits_posted + debits_pending),
    CONSTRAINT ck_points_owner CHECK (
        (kind = 'person' AND person_id IS NOT NULL)
        OR (kind = 'household' AND household_key IS NOT NULL)
        OR (kind = 'fund' AND person_id IS NULL AND household_key IS NULL))
);
CREATE UNIQUE INDEX uq_points_person ON points_accounts (person_id) WHERE kind = 'person';
CREATE UNIQUE INDEX uq_points_household ON points_accounts (household_key) WHERE kind = 'household';
CREATE UNIQUE INDEX uq_points_fund ON points_accounts (territory_code) WHERE kind = 'fund';

-- Earning rules as data: what a rule gives, whether it waits out a publicity period (公示)
-- before the points may be spent, and how long its points stay valid.
CREATE TABLE points_rules (
    id {{ID}},
    territory_code {{CODE}} NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    points BIGINT NOT NULL CHECK (points > 0),
    publicity_days BIGINT NOT NULL DEFAULT 0 CHECK (publicity_days >= 0),
    valid_days BIGINT CHECK (valid_days > 0),
    active BIGINT NOT NULL DEFAULT 1,
    created_at_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX uq_points_rule ON points_rules (territory_code, code);

CREATE TABLE points_transfers (
    id {{ID}},
    debit_account BIGINT NOT NULL REFERENCES points_accounts (id),
    credit_account BIGINT NOT NULL REFERENCES points_accounts (id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    kind TEXT NOT NULL CHECK (kind IN ('earn', 'redeem', 'deduct', 'reverse', 'expire')),
    state TEXT NOT NULL CHECK (state IN ('pending', 'posted', 'voided')),
    rule_id BIGINT REFERENCES points_rules (id),
    -- What the points are for, once per kind: `case:123`, `item:4:…`, a decision's number.
    source TEXT,
    reason TEXT NOT NULL,
    reverses BIGINT REFERENCES points_transfers (id),
    created_by BIGINT REFERENCES people (id),
    created_at_ms BIGINT NOT NULL,
    -- A pending transfer posts itself then (a publicity or objection period ends) …
    posts_at_ms BIGINT,
    -- … unless its owner objected, and then only a decision posts or voids it.
    objected_at_ms BIGINT,
    objection TEXT,
    settled_at_ms BIGINT,
    settled_by BIGINT REFERENCES people (id),
    -- Earned points stop counting then (returned to the fund by the expiry pass).
    expires_at_ms BIGINT,
    seal TEXT NOT NULL,
    CONSTRAINT ck_points_two_accounts CHECK (debit_account <> credit_account)
);
CREATE UNIQUE INDEX uq_points_reversal ON points_transfers (reverses) WHERE reverses IS NOT NULL;
CREATE UNIQUE INDEX uq_points_source ON points_transfers (kind, source) WHERE source IS NOT NULL AND kind <> 'reverse';
CREATE INDEX ix_points_debit ON points_transfers (debit_account, id);
CREATE INDEX ix_points_credit ON points_transfers (credit_account, id);
CREATE INDEX ix_points_due ON points_transfers (state, posts_at_ms);

-- The points shop (积分超市): a community's items with their price and stock; a redemption
-- takes one of the stock (never below zero) and its price in one transaction.
CREATE TABLE points_items (
    id {{ID}},
    territory_code {{CODE}} NOT NULL,
    name TEXT NOT NULL,
    price BIGINT NOT NULL CHECK (price > 0),
    stock BIGINT NOT NULL CHECK (stock >= 0),
    active BIGINT NOT NULL DEFAULT 1,
    created_at_ms BIGINT NOT NULL
);
