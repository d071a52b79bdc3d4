-- Issue 14, a tamper-evident audit. Ids, times and fixed words only: no personal data.
--
-- Release rows (`release_audit`) and refusal rows (`custody_refusals`) form ONE hash chain:
-- each new row takes the next `chain_seq` (1, 2, … across both tables, no gaps) and stores
-- `prev_hash` (the previous row's hash) and `row_hash` = SHA-256 over `prev_hash`, `chain_seq`
-- and the row's fields (origin/src/audit_chain.rs). `audit_chain_head` is the chain's one-row
-- head: writers update it first in their transaction, which serialises appends (a row lock on
-- PostgreSQL, the write lock on SQLite) so the chain stays linear.
--
-- Rows written before this migration are not chained (`chain_seq` NULL): the chain starts at
-- the first row written after it. Their number is recorded in the head, so `audit verify`
-- notices a legacy row deleted or added later.

-- Why a recipient was released; `delivery` is the only purpose so far.
ALTER TABLE release_audit ADD COLUMN purpose TEXT NOT NULL DEFAULT 'delivery';
ALTER TABLE release_audit ADD COLUMN chain_seq BIGINT;
ALTER TABLE release_audit ADD COLUMN prev_hash TEXT;
ALTER TABLE release_audit ADD COLUMN row_hash TEXT;
CREATE UNIQUE INDEX release_audit_by_chain_seq ON release_audit (chain_seq);

ALTER TABLE custody_refusals ADD COLUMN chain_seq BIGINT;
ALTER TABLE custody_refusals ADD COLUMN prev_hash TEXT;
ALTER TABLE custody_refusals ADD COLUMN row_hash TEXT;
CREATE UNIQUE INDEX custody_refusals_by_chain_seq ON custody_refusals (chain_seq);

CREATE TABLE audit_chain_head (
    id              BIGINT PRIMARY KEY CHECK (id = 1),
    -- The last row's `chain_seq` (0: none yet) and hash (64 zeros: none yet).
    seq             BIGINT NOT NULL,
    head_hash       TEXT NOT NULL,
    -- Rows present, unchained, when the chain began.
    legacy_releases BIGINT NOT NULL,
    legacy_refusals BIGINT NOT NULL
);
INSERT INTO audit_chain_head (id, seq, head_hash, legacy_releases, legacy_refusals)
VALUES (
    1, 0, '0000000000000000000000000000000000000000000000000000000000000000',
    (SELECT COUNT(*) FROM release_audit),
    (SELECT COUNT(*) FROM custody_refusals)
);
