-- Issue 10, periodic number rotation: when each shared record got its number (unix ms).
-- Records from before are as old as can be (0), so the first rotation renumbers them.
-- SQLite takes no expression as a default of an added column: a trigger stamps new rows.
ALTER TABLE address_records ADD COLUMN numbered_at BIGINT NOT NULL DEFAULT 0;
CREATE TRIGGER address_records_numbered AFTER INSERT ON address_records
WHEN NEW.numbered_at = 0
BEGIN
    UPDATE address_records
    SET numbered_at = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)
    WHERE address_id = NEW.address_id;
END;
CREATE INDEX address_records_by_age ON address_records (numbered_at);
