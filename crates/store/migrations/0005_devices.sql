-- Sensors and other devices that report cases through a signed webhook. The HMAC key is
-- kept as given to the device (it is needed to check signatures); it is shown once.
CREATE TABLE devices (
    id {{ID}},
    name TEXT NOT NULL,
    secret TEXT NOT NULL,
    territory_code {{CODE}} NOT NULL REFERENCES territories (code),
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);
