-- Webhooks for integrations: each outbox row is queued for every matching subscription and
-- delivered (signed) by whichever app server claims it; failures back off and are
-- dead-lettered after repeated attempts.
CREATE TABLE webhooks (
    id {{ID}},
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    topics TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);

CREATE TABLE webhook_deliveries (
    id {{ID}},
    webhook_id BIGINT NOT NULL REFERENCES webhooks (id),
    topic TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_ms BIGINT NOT NULL,
    last_error TEXT,
    claimed_by TEXT,
    claimed_until_ms BIGINT,
    delivered_at_ms BIGINT,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX ix_deliveries_due ON webhook_deliveries (status, next_attempt_ms);
