-- The directory store: who is who and which order goes where, by id only.
-- No name, phone, street line, postal code or region of a buyer is ever written here.
CREATE TABLE platforms (
    platform_id TEXT PRIMARY KEY NOT NULL
);

CREATE TABLE buyers (
    buyer_id    TEXT PRIMARY KEY NOT NULL,
    platform_id TEXT NOT NULL REFERENCES platforms (platform_id),
    created_at  BIGINT NOT NULL
);

CREATE TABLE sellers (
    seller_id   TEXT PRIMARY KEY NOT NULL,
    platform_id TEXT NOT NULL REFERENCES platforms (platform_id),
    created_at  BIGINT NOT NULL
);

CREATE TABLE buyer_addresses (
    buyer_id   TEXT NOT NULL REFERENCES buyers (buyer_id),
    address_id TEXT NOT NULL,
    label      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (buyer_id, address_id)
);
CREATE INDEX buyer_addresses_by_address ON buyer_addresses (address_id);

CREATE TABLE orders (
    order_id       TEXT PRIMARY KEY NOT NULL,
    platform_id    TEXT NOT NULL REFERENCES platforms (platform_id),
    buyer_id       TEXT NOT NULL REFERENCES buyers (buyer_id),
    seller_id      TEXT NOT NULL REFERENCES sellers (seller_id),
    address_id     TEXT NOT NULL,
    status         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    delivered_at   BIGINT,
    receipt_sha256 TEXT
);
CREATE INDEX orders_by_seller ON orders (seller_id);
CREATE INDEX orders_by_address ON orders (address_id);

CREATE TABLE hubs (
    hub_id     TEXT PRIMARY KEY NOT NULL,
    level      TEXT NOT NULL,
    code       TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE scanners (
    scanner_id TEXT PRIMARY KEY NOT NULL,
    hub_id     TEXT NOT NULL REFERENCES hubs (hub_id),
    role       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);

CREATE TABLE releases (
    release_id  TEXT PRIMARY KEY NOT NULL,
    order_id    TEXT NOT NULL REFERENCES orders (order_id),
    hub_id      TEXT NOT NULL REFERENCES hubs (hub_id),
    scanner_id  TEXT NOT NULL REFERENCES scanners (scanner_id),
    created_at  BIGINT NOT NULL,
    erase_after BIGINT NOT NULL,
    UNIQUE (order_id, hub_id)
);

CREATE TABLE release_audit (
    audit_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    release_id TEXT NOT NULL REFERENCES releases (release_id),
    order_id   TEXT NOT NULL,
    hub_id     TEXT NOT NULL,
    scanner_id TEXT NOT NULL,
    address_id TEXT NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX release_audit_by_order ON release_audit (order_id);

CREATE TABLE edge_nonces (
    nonce   TEXT PRIMARY KEY NOT NULL,
    seen_at BIGINT NOT NULL
);
CREATE INDEX edge_nonces_by_age ON edge_nonces (seen_at);

CREATE TABLE revocation_outbox (
    scanner_id   TEXT PRIMARY KEY NOT NULL,
    queued_at    BIGINT NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    delivered_at BIGINT
);
