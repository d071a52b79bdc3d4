//! The audit's hash chain, as pure functions: how one row's hash is computed from the row and
//! the hash of the row before it, and how a sequence of stored rows is checked.
//!
//! Every audit row (a release of a recipient, a refused release) gets the next number of one
//! sequence (`seq`, from 1, no gaps) and `row_hash = SHA-256(encoding)`, where the encoding is
//! unambiguous: the domain `lasthop-audit/v1`, the previous row's hash (32 zero bytes before the
//! first row), `seq` as 8 big-endian bytes, then the row's kind and each named field, each
//! length-prefixed (a field that is absent is marked as such, so `None` and `""` differ).
//! Editing a row changes its hash; deleting one leaves a gap in `seq`; rewriting the whole
//! chain from some row on is caught by the signed head (see the `audit` command) and by an
//! auditor's earlier signed export, which the later one must extend.

use sha2::{Digest as _, Sha256};

/// A row's hash (SHA-256).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHash(pub [u8; 32]);

impl ChainHash {
    /// The "previous hash" of the first row.
    pub const GENESIS: Self = Self([0; 32]);

    /// Lower-case hex, as stored.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Reads the stored form.
    ///
    /// # Errors
    /// When it is not 64 hex characters.
    pub fn from_hex(text: &str) -> Result<Self, BadHash> {
        let bytes = hex::decode(text).map_err(|_| BadHash)?;
        Ok(Self(bytes.try_into().map_err(|_| BadHash)?))
    }
}

impl std::fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChainHash({})", self.to_hex())
    }
}

/// A stored hash that is not 64 hex characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a stored chain hash is not 64 hex characters")]
pub struct BadHash;

/// One audit row as the chain sees it: its number, kind and fields, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRow {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// `release` or `refusal`.
    pub kind: String,
    /// `(name, value)` in the order they are hashed; `None` for an absent value.
    pub fields: Vec<(String, Option<String>)>,
}

/// The hash of `row` after `previous`.
pub fn row_hash(previous: &ChainHash, row: &ChainRow) -> ChainHash {
    let mut hasher = Sha256::new();
    hasher.update(b"lasthop-audit/v1\0");
    hasher.update(previous.0);
    hasher.update(row.seq.to_be_bytes());
    put(&mut hasher, row.kind.as_bytes());
    hasher.update((row.fields.len() as u64).to_be_bytes());
    for (name, value) in &row.fields {
        put(&mut hasher, name.as_bytes());
        match value {
            None => hasher.update([0]),
            Some(value) => {
                hasher.update([1]);
                put(&mut hasher, value.as_bytes());
            }
        }
    }
    ChainHash(hasher.finalize().into())
}

fn put(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_be_bytes());
    hasher.update(bytes);
}

/// A row as read back from the store, with the hashes written beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRow {
    /// The row.
    pub row: ChainRow,
    /// The stored hash of the row before it.
    pub prev_hash: String,
    /// The stored hash of this row.
    pub row_hash: String,
}

/// Chains `rows` from the start (their `seq` as given): each with the hash of the row before
/// it and its own, as a writer that appended them in this order would have stored them.
pub fn link(rows: impl IntoIterator<Item = ChainRow>) -> Vec<StoredRow> {
    let mut previous = ChainHash::GENESIS;
    rows.into_iter()
        .map(|row| {
            let own = row_hash(&previous, &row);
            let stored = StoredRow {
                row,
                prev_hash: previous.to_hex(),
                row_hash: own.to_hex(),
            };
            previous = own;
            stored
        })
        .collect()
}

/// Where the chain first breaks. Rows are named by their `seq`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Break {
    /// Rows are missing: `seq` jumps from `after` to `next` (or the chain ends before the
    /// head's last row, then `next` is the head's `seq + 1`).
    #[error("rows {first} to {last} are missing (deleted?)", first = .after + 1, last = .next - 1)]
    Missing {
        /// The last row present before the gap (0: none).
        after: u64,
        /// The first row present after the gap.
        next: u64,
    },
    /// The row's content does not match its stored hash: it was edited.
    #[error("row {seq} was changed after it was written (its hash does not match its content)")]
    Edited {
        /// The row.
        seq: u64,
    },
    /// The row's stored previous hash is not the previous row's hash: rows were swapped,
    /// replaced or re-chained.
    #[error("row {seq} does not follow the row before it (its previous hash does not match)")]
    Unlinked {
        /// The row.
        seq: u64,
    },
    /// A stored hash is not a hash.
    #[error("row {seq} has a malformed hash")]
    Malformed {
        /// The row.
        seq: u64,
    },
}

/// What a successful check saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// Number of rows.
    pub rows: u64,
    /// The last row's hash (the genesis value when there is none).
    pub head: ChainHash,
}

/// Checks rows in `seq` order from the start of the chain; `expected_rows` (from the signed
/// head, when there is one) catches rows deleted at the end.
///
/// # Errors
/// The first [`Break`].
pub fn verify(
    rows: impl IntoIterator<Item = StoredRow>,
    expected_rows: Option<u64>,
) -> Result<Verified, Break> {
    let mut previous = ChainHash::GENESIS;
    let mut last_seq = 0u64;
    for stored in rows {
        let seq = stored.row.seq;
        if seq != last_seq + 1 {
            return Err(Break::Missing {
                after: last_seq,
                next: seq,
            });
        }
        let prev = ChainHash::from_hex(&stored.prev_hash).map_err(|_| Break::Malformed { seq })?;
        let own = ChainHash::from_hex(&stored.row_hash).map_err(|_| Break::Malformed { seq })?;
        if prev != previous {
            return Err(Break::Unlinked { seq });
        }
        if row_hash(&previous, &stored.row) != own {
            return Err(Break::Edited { seq });
        }
        previous = own;
        last_seq = seq;
    }
    if let Some(expected) = expected_rows {
        if expected > last_seq {
            return Err(Break::Missing {
                after: last_seq,
                next: expected + 1,
            });
        }
    }
    Ok(Verified {
        rows: last_seq,
        head: previous,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: u64, order: &str) -> ChainRow {
        ChainRow {
            seq,
            kind: "release".into(),
            fields: vec![
                ("order_id".into(), Some(order.into())),
                ("purpose".into(), Some("delivery".into())),
                ("code".into(), None),
            ],
        }
    }

    fn chain(n: u64) -> Vec<StoredRow> {
        link((1..=n).map(|seq| row(seq, &format!("o_{seq}"))))
    }

    #[test]
    fn an_intact_chain_verifies_and_reports_its_head() {
        let rows = chain(5);
        let head = rows[4].row_hash.clone();
        let verified = verify(rows, Some(5)).unwrap();
        assert_eq!(verified.rows, 5);
        assert_eq!(verified.head.to_hex(), head);
        assert_eq!(
            verify(Vec::new(), Some(0)).unwrap().head,
            ChainHash::GENESIS
        );
    }

    #[test]
    fn an_edited_row_is_named() {
        let mut rows = chain(5);
        rows[2].row.fields[0].1 = Some("o_other".into());
        assert_eq!(verify(rows, Some(5)), Err(Break::Edited { seq: 3 }));
    }

    #[test]
    fn a_deleted_row_is_named_as_a_gap_and_so_is_a_deleted_tail() {
        let mut rows = chain(5);
        rows.remove(1);
        let err = verify(rows, Some(5)).unwrap_err();
        assert_eq!(err, Break::Missing { after: 1, next: 3 });
        assert_eq!(err.to_string(), "rows 2 to 2 are missing (deleted?)");
        let mut rows = chain(5);
        rows.truncate(3);
        assert_eq!(
            verify(rows, Some(5)),
            Err(Break::Missing { after: 3, next: 6 })
        );
    }

    #[test]
    fn a_row_rehashed_after_an_edit_breaks_the_link_of_the_next_row() {
        let mut rows = chain(5);
        rows[2].row.fields[0].1 = Some("o_other".into());
        let prev = ChainHash::from_hex(&rows[2].prev_hash).unwrap();
        rows[2].row_hash = row_hash(&prev, &rows[2].row).to_hex();
        assert_eq!(verify(rows, Some(5)), Err(Break::Unlinked { seq: 4 }));
    }

    #[test]
    fn absent_and_empty_values_hash_differently() {
        let mut a = row(1, "o_1");
        let mut b = a.clone();
        a.fields[2].1 = None;
        b.fields[2].1 = Some(String::new());
        assert_ne!(
            row_hash(&ChainHash::GENESIS, &a),
            row_hash(&ChainHash::GENESIS, &b)
        );
    }
}
