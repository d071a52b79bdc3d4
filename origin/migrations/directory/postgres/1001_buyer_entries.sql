-- Issue 10, the full address record. Each buyer's address is a *buyer entry* with its own
-- `a_…` id (the only id that buyer ever sees); the directory maps it to the shared vault number
-- (`address_id`) that identical addresses share. Orders and the audit name the entry.
-- The entry itself (spelling, label, recipient, provenance) is sealed in the vault
-- (`entry_records`), never here. Rows from before this migration keep their number as their
-- entry id, and are read from the shared record and `label` until they are modified.
ALTER TABLE buyer_addresses ADD COLUMN entry_id TEXT;
UPDATE buyer_addresses SET entry_id = address_id;
CREATE UNIQUE INDEX buyer_addresses_by_entry ON buyer_addresses (entry_id);

-- The temporary table holds sealed buyer entries too ('entry').
ALTER TABLE vault_pending DROP CONSTRAINT vault_pending_kind_check;
ALTER TABLE vault_pending ADD CONSTRAINT vault_pending_kind_check
    CHECK (kind IN ('address', 'contact', 'entry'));
