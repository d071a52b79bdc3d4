-- The temporary table (issue 9): vault records that could not be written while no vault server
-- took writes. They wait here, in the directory store, sealed under the vault key exactly as the
-- vault would hold them (ciphertext only, associated data = record id + key version), and are
-- written into the vault once it is back, then deleted. Here, not in a file beside the origin:
-- a record commits together with the directory rows of the same registration, it is as durable
-- as the directory, and every origin replica sees it.
CREATE TABLE vault_pending (
    record_id   TEXT PRIMARY KEY NOT NULL,
    -- 'address' (a_…) or 'contact' (b_…, s_…).
    kind        TEXT NOT NULL CHECK (kind IN ('address', 'contact')),
    -- Addresses only: the keyed blind index, unique so identical addresses registered during
    -- an outage share one number.
    blind_index TEXT UNIQUE,
    key_version BIGINT NOT NULL,
    ciphertext  BLOB NOT NULL,
    queued_at   BIGINT NOT NULL
);
CREATE INDEX vault_pending_by_age ON vault_pending (queued_at);

-- A waiting address that the vault turned out to hold already under another number (the vault
-- was unreadable when it was registered) is merged into that number at flush time; reads of
-- the old number (an order created meanwhile, the audit) follow this row.
CREATE TABLE vault_merged (
    from_id TEXT PRIMARY KEY NOT NULL,
    into_id TEXT NOT NULL
);
