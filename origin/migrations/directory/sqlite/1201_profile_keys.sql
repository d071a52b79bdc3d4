-- Issue 12, pages. The X25519 public key (base64url) a buyer's page made at registration and
-- sent sealed to the vault: the profile is only ever answered sealed to it. NULL for a buyer
-- registered through the contract's plaintext path. A public key, not personal data.
ALTER TABLE buyers ADD COLUMN profile_key TEXT;
