-- Issue 10, key rotation: what `lasthop-origin keys retire <v>` needs to know without any key.
-- Each master key version and when an origin first served with it as the current version: no
-- credential (buyer or seller session, scanner credential) is signed under v after the first
-- later version's `current_since`, so credentials under v are known to have expired once that
-- moment plus their longest lifetime has passed.
CREATE TABLE key_versions (
    version       BIGINT PRIMARY KEY NOT NULL,
    current_since BIGINT NOT NULL
);

-- The key version an order was tokenised under (its region and binding tags); the edge seals
-- its route under that version or a later one. NULL for orders from before this column: they
-- count as needing every version until they are delivered.
ALTER TABLE orders ADD COLUMN key_version BIGINT;
