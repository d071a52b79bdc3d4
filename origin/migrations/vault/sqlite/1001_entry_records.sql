-- Issue 10: buyer entries, one per (buyer, address): the buyer's own spelling, label, region
-- levels, postal code, recipient name and phone, and the provenance of registration and of the
-- last modification. Sealed like every vault record (associated data = entry id + key version).
-- The shared `address_records` hold only the normalised address, for the shared number.
CREATE TABLE entry_records (
    entry_id    TEXT PRIMARY KEY NOT NULL,
    key_version BIGINT NOT NULL,
    ciphertext  BLOB NOT NULL
);
