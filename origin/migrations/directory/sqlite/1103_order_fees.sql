-- Issue 11, the fee of an order: its carrier, the parcel's weight, the fee and the version of the
-- carrier's table it came from, written when the order is created (before the order's row, so a
-- failure leaves at most an unused row) and never changed: a later table does not reprice it.
-- `fee_fen` and `fee_version` are NULL when the order was placed without a fee (the carrier had
-- no table, or the seller no ship-from region). The fee depends on the buyer's zone, so it is
-- shown to the buyer only, never in the seller's views.
CREATE TABLE order_fees (
    order_id    TEXT PRIMARY KEY NOT NULL,
    carrier_id  TEXT NOT NULL REFERENCES carriers (carrier_id),
    weight_g    BIGINT NOT NULL,
    fee_fen     BIGINT,
    fee_version BIGINT
);
