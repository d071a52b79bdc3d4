//! `lasthop-origin audit verify | export | check-export | public-key`: the tamper-evident
//! audit from the operator's and the auditor's side.
//!
//! `verify` reads the hash chain from the directory ([`crate::store::Directory::audit_chain`])
//! and names the first broken row by its table and key: an edited row, a row that no longer
//! follows the one before it, the gap deleted rows left, a head that does not match the last
//! row, or rows from before the chain began that were deleted or added. `export` checks the
//! chain the same way, then writes it signed ([`crate::audit_export`]); it never signs a
//! broken chain. `check-export` needs no store and no key: only the file (and, better, the
//! public key to pin).

use std::path::Path;

use anyhow::Context as _;
use lasthop_core::keys::{MasterKeyRing, OriginKeys};
use secrecy::ExposeSecret as _;

use crate::audit_chain::{self, Break, ChainHash, Verified};
use crate::audit_export::{self, Export, Head};
use crate::config::{AuditExportArgs, CheckExportArgs, MasterKeyArgs, ServeArgs};
use crate::store::{open_directory, AuditChain, ChainRecord};

/// Where the chain in the store breaks, naming the row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainFault {
    /// A row's content does not match its hash.
    #[error("{locator} (chain row {seq}) was changed after it was written: its hash does not match its content")]
    Edited {
        /// `release_audit audit_id=7`.
        locator: String,
        /// Its place in the chain.
        seq: u64,
    },
    /// A row's previous hash is not the previous row's hash.
    #[error("{locator} (chain row {seq}) does not follow the row before it: its previous hash does not match (rows replaced or re-chained)")]
    Unlinked {
        /// The row.
        locator: String,
        /// Its place in the chain.
        seq: u64,
    },
    /// A stored hash is not a hash.
    #[error("{locator} (chain row {seq}) has a malformed hash")]
    Malformed {
        /// The row.
        locator: String,
        /// Its place in the chain.
        seq: u64,
    },
    /// Rows are missing from the chain.
    #[error("chain rows {first} to {last} are missing (deleted): the gap is after {before} and before {after}")]
    Missing {
        /// The first missing place.
        first: u64,
        /// The last missing place.
        last: u64,
        /// The row before the gap, or `the start of the chain`.
        before: String,
        /// The row after the gap, or `the end of the chain`.
        after: String,
    },
    /// A row's place was changed to one already passed.
    #[error("{locator} (chain row {seq}) is out of order: its place was changed")]
    OutOfOrder {
        /// The row.
        locator: String,
        /// Its (changed) place.
        seq: u64,
    },
    /// The head does not match the last row.
    #[error(
        "the chain's head (audit_chain_head) does not match its last row: the head was edited"
    )]
    Head,
    /// Rows from before the chain began were deleted or added.
    #[error("{table} has {now} rows from before the chain began, but had {then} when it began: such rows were deleted or added")]
    Legacy {
        /// The table.
        table: &'static str,
        /// Unchained rows when the chain began.
        then: i64,
        /// Unchained rows now.
        now: i64,
    },
}

/// Checks a chain as read from the store.
///
/// # Errors
/// The first [`ChainFault`].
pub fn check_chain(chain: &AuditChain) -> Result<Verified, ChainFault> {
    let head_seq = u64::try_from(chain.head_seq).map_err(|_| ChainFault::Head)?;
    let verified = audit_chain::verify(
        chain.records.iter().map(|record| record.stored.clone()),
        Some(head_seq),
    )
    .map_err(|broken| fault(&chain.records, broken))?;
    if verified.rows != head_seq
        || Some(verified.head) != ChainHash::from_hex(&chain.head_hash).ok()
    {
        return Err(ChainFault::Head);
    }
    for (table, then, now) in [
        (
            "release_audit",
            chain.legacy_releases,
            chain.unchained_releases,
        ),
        (
            "custody_refusals",
            chain.legacy_refusals,
            chain.unchained_refusals,
        ),
    ] {
        if then != now {
            return Err(ChainFault::Legacy { table, then, now });
        }
    }
    Ok(verified)
}

/// Names the rows of a [`Break`]. Rows are in `seq` order, and the check stops at the first
/// break, so the first row with a given `seq` is the one it saw.
fn fault(records: &[ChainRecord], broken: Break) -> ChainFault {
    let locator = |seq: u64| {
        records
            .iter()
            .find(|r| r.stored.row.seq == seq)
            .map(ChainRecord::locator)
    };
    match broken {
        Break::Edited { seq } => ChainFault::Edited {
            locator: locator(seq).unwrap_or_default(),
            seq,
        },
        Break::Unlinked { seq } => ChainFault::Unlinked {
            locator: locator(seq).unwrap_or_default(),
            seq,
        },
        Break::Malformed { seq } => ChainFault::Malformed {
            locator: locator(seq).unwrap_or_default(),
            seq,
        },
        Break::Missing { after, next } if next <= after + 1 => {
            // The row after `after` carries a place at or before it: a duplicate or a
            // place moved backwards. It is the first record past the `after` row.
            let index = records
                .iter()
                .position(|r| r.stored.row.seq == after)
                .map_or(0, |i| i + 1);
            ChainFault::OutOfOrder {
                locator: records
                    .get(index)
                    .map(ChainRecord::locator)
                    .unwrap_or_default(),
                seq: next,
            }
        }
        Break::Missing { after, next } => ChainFault::Missing {
            first: after + 1,
            last: next - 1,
            before: if after == 0 {
                "the start of the chain".to_owned()
            } else {
                locator(after).map_or_else(
                    || format!("chain row {after}"),
                    |l| format!("{l} (chain row {after})"),
                )
            },
            after: locator(next).map_or_else(
                || "the end of the chain".to_owned(),
                |l| format!("{l} (chain row {next})"),
            ),
        },
    }
}

/// What `audit verify` found on an intact chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyReport {
    /// The check's result.
    pub verified: Verified,
    /// Rows from before the chain began, both tables.
    pub legacy_rows: i64,
}

async fn read_chain(args: &ServeArgs) -> anyhow::Result<AuditChain> {
    let url = args.directory_url()?;
    let directory = open_directory(url.expose_secret())
        .await
        .context("opening the directory store")?;
    directory
        .audit_chain()
        .await
        .context("reading the audit chain")
}

/// `audit verify`: `Ok(Err(fault))` when the chain is broken.
///
/// # Errors
/// When the settings or the store cannot be read.
pub async fn verify_command(args: &ServeArgs) -> anyhow::Result<Result<VerifyReport, ChainFault>> {
    let chain = read_chain(args).await?;
    Ok(check_chain(&chain).map(|verified| VerifyReport {
        verified,
        legacy_rows: chain.unchained_releases + chain.unchained_refusals,
    }))
}

/// `audit export`: checks the chain, then writes it signed to `--out`. `Ok(Err(fault))` when
/// the chain is broken (nothing is written).
///
/// # Errors
/// When the settings, the keys or the store cannot be read, or the file cannot be written.
pub async fn export_command(args: &AuditExportArgs) -> anyhow::Result<Result<Export, ChainFault>> {
    let keys = origin_keys(&args.serve.master_keys()?)?;
    let chain = read_chain(&args.serve).await?;
    let verified = match check_chain(&chain) {
        Ok(verified) => verified,
        Err(fault) => return Ok(Err(fault)),
    };
    let now = crate::state::Clock::default().now().unix_millis();
    let export = audit_export::build(
        chain.records.into_iter().map(|r| r.stored).collect(),
        Head {
            seq: verified.rows,
            hash: verified.head.to_hex(),
        },
        &keys.audit,
        now,
    );
    let text = serde_json::to_string_pretty(&export).context("encoding the export")?;
    std::fs::write(&args.out, text + "\n")
        .with_context(|| format!("writing {}", args.out.display()))?;
    Ok(Ok(export))
}

/// `audit check-export`: the number of rows of an intact export.
///
/// # Errors
/// When a file cannot be read or parsed, or the export (or its relation to the previous one)
/// does not check.
pub fn check_export_command(args: &CheckExportArgs) -> anyhow::Result<(Export, u64)> {
    let export = read_export(&args.file)?;
    let rows = audit_export::check(&export, args.public_key.as_deref())
        .with_context(|| format!("{} does not check", args.file.display()))?;
    if let Some(previous) = &args.previous {
        let earlier = read_export(previous)?;
        let pinned = args
            .previous_public_key
            .as_ref()
            .or(args.public_key.as_ref());
        audit_export::check(&earlier, pinned.map(String::as_str))
            .with_context(|| format!("{} does not check", previous.display()))?;
        anyhow::ensure!(
            audit_export::extends(&export, &earlier),
            "{} does not extend {}: rows of the earlier export were changed or removed",
            args.file.display(),
            previous.display()
        );
    }
    Ok((export, rows))
}

/// `audit public-key`: the key id and public key that sign exports.
///
/// # Errors
/// When the master keys cannot be read.
pub fn public_key_command(args: &MasterKeyArgs) -> anyhow::Result<(String, String)> {
    let keys = origin_keys(&args.load()?)?;
    Ok((keys.audit.key_id(), keys.audit.public_key_base64()))
}

fn origin_keys(ring: &secrecy::SecretString) -> anyhow::Result<OriginKeys> {
    let ring = MasterKeyRing::parse(ring.expose_secret())
        .map_err(|e| anyhow::anyhow!("master key ring: {e}"))?;
    Ok(OriginKeys::derive(&ring))
}

fn read_export(path: &Path) -> anyhow::Result<Export> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a lasthop audit export", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit_chain::{link, ChainRow};

    /// Rows 1..=n alternating releases (odd) and refusals (even), ids from 10 on.
    fn chain(n: u64) -> AuditChain {
        let stored = link((1..=n).map(|seq| ChainRow {
            seq,
            kind: if seq % 2 == 1 { "release" } else { "refusal" }.into(),
            fields: vec![("order_id".into(), Some(format!("o_{seq}")))],
        }));
        let head_hash = stored
            .last()
            .map_or_else(|| ChainHash::GENESIS.to_hex(), |row| row.row_hash.clone());
        AuditChain {
            records: stored
                .into_iter()
                .map(|stored| ChainRecord {
                    table: if stored.row.seq % 2 == 1 {
                        "release_audit"
                    } else {
                        "custody_refusals"
                    },
                    id: 9 + i64::try_from(stored.row.seq).unwrap(),
                    stored,
                })
                .collect(),
            head_seq: i64::try_from(n).unwrap(),
            head_hash,
            legacy_releases: 2,
            legacy_refusals: 0,
            unchained_releases: 2,
            unchained_refusals: 0,
        }
    }

    #[test]
    fn an_intact_chain_with_its_legacy_rows_checks() {
        assert_eq!(check_chain(&chain(4)).unwrap().rows, 4);
        assert_eq!(check_chain(&chain(0)).unwrap().rows, 0);
    }

    #[test]
    fn an_edited_row_is_named_by_table_and_key() {
        let mut edited = chain(4);
        edited.records[1].stored.row.fields[0].1 = Some("o_x".into());
        let fault = check_chain(&edited).unwrap_err();
        assert_eq!(
            fault.to_string(),
            "custody_refusals refusal_id=11 (chain row 2) was changed after it was written: \
             its hash does not match its content"
        );
    }

    #[test]
    fn gaps_are_named_by_the_rows_around_them_at_the_start_middle_and_end() {
        let mut middle = chain(4);
        middle.records.remove(1);
        assert_eq!(
            check_chain(&middle).unwrap_err().to_string(),
            "chain rows 2 to 2 are missing (deleted): the gap is after release_audit \
             audit_id=10 (chain row 1) and before release_audit audit_id=12 (chain row 3)"
        );
        let mut start = chain(4);
        start.records.remove(0);
        assert!(matches!(
            check_chain(&start),
            Err(ChainFault::Missing { first: 1, last: 1, ref before, .. })
                if before == "the start of the chain"
        ));
        let mut end = chain(4);
        end.records.truncate(2);
        assert!(matches!(
            check_chain(&end),
            Err(ChainFault::Missing { first: 3, last: 4, ref after, .. })
                if after == "the end of the chain"
        ));
    }

    #[test]
    fn a_moved_place_an_edited_head_and_missing_legacy_rows_are_named() {
        let mut moved = chain(4);
        moved.records[2].stored.row.seq = 2;
        assert!(matches!(
            check_chain(&moved),
            Err(ChainFault::OutOfOrder { ref locator, .. }) if locator == "release_audit audit_id=12"
        ));
        let mut head = chain(4);
        head.head_hash = ChainHash::GENESIS.to_hex();
        assert_eq!(check_chain(&head), Err(ChainFault::Head));
        let mut legacy = chain(4);
        legacy.unchained_releases = 1;
        assert_eq!(
            check_chain(&legacy),
            Err(ChainFault::Legacy {
                table: "release_audit",
                then: 2,
                now: 1
            })
        );
    }
}
