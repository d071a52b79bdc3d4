-- Issue 10, the full address record. Each buyer's address is a *buyer entry* with its own
-- `a_…` id (the only id that buyer ever sees); the directory maps it to the shared vault number
-- (`address_id`) that identical addresses share. Orders and the audit name the entry.
-- The entry itself (spelling, label, recipient, provenance) is sealed in the vault
-- (`entry_records`), never here. Rows from before this migration keep their number as their
-- entry id, and are read from the shared record and `label` until they are modified.
ALTER TABLE buyer_addresses ADD COLUMN entry_id TEXT;
UPDATE buyer_addresses SET entry_id = address_id;
CREATE UNIQUE INDEX buyer_addresses_by_entry ON buyer_addresses (entry_id);

-- The temporary table holds sealed buyer entries too ('entry'). SQLite cannot change a CHECK
-- constraint in place: the table is rebuilt with the same columns and rows.
CREATE TABLE vault_pending_1001 (
    record_id   TEXT PRIMARY KEY NOT NULL,
    -- 'address' (a shared number), 'contact' (b_…, s_…) or 'entry' (a buyer's a_…).
    kind        TEXT NOT NULL CHECK (kind IN ('address', 'contact', 'entry')),
    blind_index TEXT UNIQUE,
    key_version BIGINT NOT NULL,
    ciphertext  BLOB NOT NULL,
    queued_at   BIGINT NOT NULL
);
INSERT INTO vault_pending_1001 (record_id, kind, blind_index, key_version, ciphertext, queued_at)
    SELECT record_id, kind, blind_index, key_version, ciphertext, queued_at FROM vault_pending;
DROP TABLE vault_pending;
ALTER TABLE vault_pending_1001 RENAME TO vault_pending;
CREATE INDEX vault_pending_by_age ON vault_pending (queued_at);
