-- Issue 10, periodic number rotation: when each shared record got its number (unix ms).
-- Records from before are as old as can be (0), so the first rotation renumbers them.
ALTER TABLE address_records ADD COLUMN numbered_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE address_records
    ALTER COLUMN numbered_at SET DEFAULT (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT;
CREATE INDEX address_records_by_age ON address_records (numbered_at);
