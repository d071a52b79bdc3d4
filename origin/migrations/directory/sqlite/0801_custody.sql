-- Issue 8, chain of custody. Ids, public keys, nonces and reasons only: no personal data.

-- A scanner's device: Ed25519 key that signs its scans, X25519 key recipients are sealed to
-- (both base64url). NULL for a scanner enrolled without a device.
ALTER TABLE scanners ADD COLUMN sign_key TEXT;
ALTER TABLE scanners ADD COLUMN box_key TEXT;

-- Device nonces the origin has accepted, one use per scanner within the signature window.
CREATE TABLE device_nonces (
    scanner_id TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    seen_at    BIGINT NOT NULL,
    PRIMARY KEY (scanner_id, nonce)
);
CREATE INDEX device_nonces_by_age ON device_nonces (seen_at);

-- Every refused release or delivery: who asked (as far as it could be told), for which order,
-- and why (an error code and a fixed reason word, never request data).
CREATE TABLE custody_refusals (
    refusal_id INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint   TEXT NOT NULL,
    order_id   TEXT,
    scanner_id TEXT,
    code       TEXT NOT NULL,
    reason     TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX custody_refusals_by_order ON custody_refusals (order_id);
