-- Issue 10, periodic number rotation. One row per renumbering of a shared vault record, written
-- before the first step so a crash at any point can be resumed:
--   started  : the vault may hold the record under new_id too (its blind index a placeholder);
--   switched : every buyer entry points at new_id; the vault may still hold old_id;
--   done     : old_id is gone from the vault. Kept a while so a registration that found
--              old_id just before it went is linked to new_id instead.
-- Holds two random numbers and times, never personal data.
CREATE TABLE number_rotations (
    old_id     TEXT PRIMARY KEY NOT NULL,
    new_id     TEXT NOT NULL UNIQUE,
    state      TEXT NOT NULL CHECK (state IN ('started', 'switched', 'done')),
    started_at BIGINT NOT NULL,
    done_at    BIGINT
);
CREATE INDEX number_rotations_by_state ON number_rotations (state);
