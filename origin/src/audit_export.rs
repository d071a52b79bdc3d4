//! The signed audit export, as pure functions: what `lasthop-origin audit export` writes and
//! how an auditor checks it (`lasthop-origin audit check-export`, or [`check`] from Rust).
//!
//! The file is JSON: every chained row (its `seq`, kind, named fields, and both hashes), the
//! head (`seq` and hash of the last row) and an Ed25519 signature over the head. The head's
//! hash commits to every row before it, so one signature covers the whole file: the checker
//! recomputes the chain from the rows and must arrive at the signed head. The signing key is
//! derived from the master key ring (purpose `audit-signing`); the file names it (`key_id`,
//! `audit-v<version>`) and carries its public key, which an auditor should pin
//! (`--public-key`, as published by `lasthop-origin audit public-key`), since a forger could
//! sign with a key of their own.
//!
//! Rows carry ids, times and fixed words only, never personal data. An auditor who keeps each
//! export can check that the next one extends it ([`extends`]): a chain rewritten from some
//! row on, head included, by someone without the signing key does not.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
use lasthop_core::keys::AuditSigningKey;
use serde::{Deserialize, Serialize};

use crate::audit_chain::{self, Break, ChainHash, ChainRow, StoredRow};

/// The `format` of an export.
pub const FORMAT: &str = "lasthop-audit-export/v1";

/// An export file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Export {
    /// [`FORMAT`].
    pub format: String,
    /// When it was made, unix milliseconds.
    pub exported_at: i64,
    /// `audit-v<version>`.
    pub key_id: String,
    /// The Ed25519 public key, base64url without padding.
    pub public_key: String,
    /// The last row's `seq` (0 when there are none) and hash.
    pub head: Head,
    /// Every row, in `seq` order from 1.
    pub rows: Vec<ExportRow>,
    /// Ed25519 signature over [`signed_text`], base64url without padding.
    pub signature: String,
}

/// The chain's head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Head {
    /// Rows in the chain.
    pub seq: u64,
    /// The last row's hash (64 zeros when there are none).
    pub hash: String,
}

/// One row of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRow {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// `release` or `refusal`.
    pub kind: String,
    /// `[name, value]` pairs in their hashed order (`null` for an absent value).
    pub fields: Vec<(String, Option<String>)>,
    /// The previous row's hash.
    pub prev_hash: String,
    /// This row's hash.
    pub row_hash: String,
}

/// Why an export does not check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// Not an export of this format.
    #[error("not a lasthop audit export (format {0:?})")]
    Format(String),
    /// The public key is not the one the auditor pinned.
    #[error("the export is signed by another key than the one given")]
    OtherKey,
    /// The public key or signature is not well formed.
    #[error("the export's public key or signature is malformed")]
    Malformed,
    /// The signature does not verify: the head, time or key id was changed.
    #[error("the export's signature does not verify")]
    Signature,
    /// A row was changed, removed or added.
    #[error("the export's chain is broken: {0}")]
    Chain(Break),
    /// The rows are intact but end elsewhere than the signed head.
    #[error("the export's rows do not end at its signed head")]
    Head,
}

/// The text the signature covers.
pub fn signed_text(export: &Export) -> String {
    format!(
        "{FORMAT}\n{}\n{}\n{}\n{}\n{}",
        export.key_id, export.public_key, export.exported_at, export.head.seq, export.head.hash
    )
}

/// Builds and signs an export of `rows` (already checked, in `seq` order).
pub fn build(rows: Vec<StoredRow>, head: Head, key: &AuditSigningKey, now: i64) -> Export {
    let mut export = Export {
        format: FORMAT.to_owned(),
        exported_at: now,
        key_id: key.key_id(),
        public_key: key.public_key_base64(),
        head,
        rows: rows
            .into_iter()
            .map(|stored| ExportRow {
                seq: stored.row.seq,
                kind: stored.row.kind,
                fields: stored.row.fields,
                prev_hash: stored.prev_hash,
                row_hash: stored.row_hash,
            })
            .collect(),
        signature: String::new(),
    };
    export.signature = URL_SAFE_NO_PAD.encode(key.sign(signed_text(&export).as_bytes()));
    export
}

/// Checks an export: its signature (by `pinned_key` when given, base64url), then its chain
/// from the first row to the signed head. Returns the number of rows.
///
/// # Errors
/// The first [`ExportError`] found.
pub fn check(export: &Export, pinned_key: Option<&str>) -> Result<u64, ExportError> {
    if export.format != FORMAT {
        return Err(ExportError::Format(export.format.clone()));
    }
    if pinned_key.is_some_and(|pinned| pinned.trim() != export.public_key) {
        return Err(ExportError::OtherKey);
    }
    let key_bytes: [u8; 32] = URL_SAFE_NO_PAD
        .decode(&export.public_key)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(ExportError::Malformed)?;
    let signature: [u8; 64] = URL_SAFE_NO_PAD
        .decode(&export.signature)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or(ExportError::Malformed)?;
    let key = VerifyingKey::from_bytes(&key_bytes).map_err(|_| ExportError::Malformed)?;
    key.verify_strict(
        signed_text(export).as_bytes(),
        &Signature::from_bytes(&signature),
    )
    .map_err(|_| ExportError::Signature)?;
    let verified = audit_chain::verify(
        export.rows.iter().map(|row| StoredRow {
            row: ChainRow {
                seq: row.seq,
                kind: row.kind.clone(),
                fields: row.fields.clone(),
            },
            prev_hash: row.prev_hash.clone(),
            row_hash: row.row_hash.clone(),
        }),
        Some(export.head.seq),
    )
    .map_err(ExportError::Chain)?;
    if verified.rows != export.head.seq
        || Some(verified.head) != ChainHash::from_hex(&export.head.hash).ok()
    {
        return Err(ExportError::Head);
    }
    Ok(verified.rows)
}

/// Whether `later` extends `earlier` (both already [`check`]ed): every row of the earlier
/// export is in the later one, unchanged.
pub fn extends(later: &Export, earlier: &Export) -> bool {
    later.rows.len() >= earlier.rows.len() && later.rows.starts_with(&earlier.rows)
}

#[cfg(test)]
mod tests {
    use lasthop_core::keys::{MasterKeyRing, OriginKeys};

    use super::*;

    fn key(seed: u8) -> AuditSigningKey {
        let ring = MasterKeyRing::parse(&format!(
            "1:{}",
            base64::engine::general_purpose::STANDARD.encode([seed; 32])
        ))
        .unwrap();
        OriginKeys::derive(&ring).audit
    }

    fn export_of(n: u64, key: &AuditSigningKey) -> Export {
        let rows = audit_chain::link((1..=n).map(|seq| ChainRow {
            seq,
            kind: "refusal".into(),
            fields: vec![
                ("order_id".into(), Some(format!("o_{seq}"))),
                ("scanner_id".into(), None),
            ],
        }));
        let head = Head {
            seq: n,
            hash: rows
                .last()
                .map_or_else(|| ChainHash::GENESIS.to_hex(), |r| r.row_hash.clone()),
        };
        build(rows, head, key, 1_700_000_000_000)
    }

    #[test]
    fn an_export_checks_and_survives_a_round_trip_through_json() {
        let key = key(7);
        let export = export_of(3, &key);
        let text = serde_json::to_string_pretty(&export).unwrap();
        let read: Export = serde_json::from_str(&text).unwrap();
        assert_eq!(check(&read, Some(&key.public_key_base64())), Ok(3));
        assert_eq!(read.key_id, "audit-v1");
    }

    #[test]
    fn a_changed_row_a_dropped_row_and_a_moved_head_are_refused() {
        let key = key(7);
        let mut edited = export_of(3, &key);
        edited.rows[1].fields[0].1 = Some("o_other".into());
        assert_eq!(
            check(&edited, None),
            Err(ExportError::Chain(Break::Edited { seq: 2 }))
        );
        let mut dropped = export_of(3, &key);
        dropped.rows.pop();
        assert_eq!(
            check(&dropped, None),
            Err(ExportError::Chain(Break::Missing { after: 2, next: 4 }))
        );
        let mut moved = export_of(3, &key);
        moved.rows.pop();
        moved.head = Head {
            seq: 2,
            hash: moved.rows[1].row_hash.clone(),
        };
        assert_eq!(check(&moved, None), Err(ExportError::Signature));
    }

    #[test]
    fn an_export_signed_by_another_key_fails_against_the_pinned_key() {
        let forged = export_of(2, &key(9));
        assert_eq!(check(&forged, None), Ok(2));
        assert_eq!(
            check(&forged, Some(&key(7).public_key_base64())),
            Err(ExportError::OtherKey)
        );
        let mut swapped = export_of(2, &key(9));
        swapped.public_key = key(7).public_key_base64();
        assert_eq!(check(&swapped, None), Err(ExportError::Signature));
    }

    #[test]
    fn a_later_export_extends_an_earlier_one_unless_history_was_rewritten() {
        let key = key(7);
        let earlier = export_of(2, &key);
        let later = export_of(4, &key);
        assert!(extends(&later, &earlier));
        let mut rewritten = later.clone();
        rewritten.rows[0].fields[0].1 = Some("o_x".into());
        assert!(!extends(&rewritten, &earlier));
        assert!(!extends(&earlier, &later));
    }
}
