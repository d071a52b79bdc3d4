-- The vault store: personal data, only as AEAD ciphertexts whose associated data is
-- (record id, key version). The blind index is a keyed HMAC of the normalised address,
-- so deduplication never needs the plaintext.
CREATE TABLE address_records (
    address_id  TEXT PRIMARY KEY NOT NULL,
    blind_index TEXT NOT NULL UNIQUE,
    key_version BIGINT NOT NULL,
    ciphertext  BLOB NOT NULL
);

CREATE TABLE contact_records (
    contact_id  TEXT PRIMARY KEY NOT NULL,
    key_version BIGINT NOT NULL,
    ciphertext  BLOB NOT NULL
);
