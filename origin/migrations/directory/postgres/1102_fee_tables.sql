-- Issue 11, fee tables. Each carrier's tables, one row per version, written once: an import of
-- an existing version with the same table changes nothing, with another table is refused, so an
-- order that stored its table version is always priced by that very table. The current table is
-- the carrier's highest version. `prices` is the five zones' prices as the API's JSON array
-- (amounts in fen, at most 2^53 - 1). Nothing here depends on a buyer.
CREATE TABLE fee_tables (
    carrier_id  TEXT NOT NULL REFERENCES carriers (carrier_id),
    version     BIGINT NOT NULL,
    step_grams  BIGINT NOT NULL,
    prices      TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    PRIMARY KEY (carrier_id, version)
);
