-- Issue 11, carriers. Carriers are logistics companies; every hub belongs to one (its scanners
-- with it), every order is carried by one, and a seller ships from a region with the carriers it
-- lists. The platform's default carrier (a well-known id, `CarrierId::platform_default` in the
-- core) carries everything made before carriers existed or that names no carrier: a hub, seller
-- or order without a row below belongs to it. Kept in tables of their own, next to the rows they
-- describe, so nothing existing is rewritten. No buyer's region is written here: the ship-from
-- region is the seller's.
CREATE TABLE carriers (
    carrier_id TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO carriers (carrier_id, name, created_at) VALUES ('ca_0000000000000000', 'lasthop', 0);

CREATE TABLE hub_carriers (
    hub_id     TEXT PRIMARY KEY NOT NULL,
    carrier_id TEXT NOT NULL REFERENCES carriers (carrier_id)
);

-- Written before the seller's row, so a failed registration leaves at most an unused row.
CREATE TABLE seller_shipping (
    seller_id TEXT PRIMARY KEY NOT NULL,
    ship_from TEXT
);

CREATE TABLE seller_carriers (
    seller_id  TEXT NOT NULL,
    carrier_id TEXT NOT NULL REFERENCES carriers (carrier_id),
    position   INTEGER NOT NULL,
    PRIMARY KEY (seller_id, carrier_id)
);

-- Written before the order's row, for the same reason.
CREATE TABLE order_carriage (
    order_id   TEXT PRIMARY KEY NOT NULL,
    carrier_id TEXT NOT NULL REFERENCES carriers (carrier_id)
);
