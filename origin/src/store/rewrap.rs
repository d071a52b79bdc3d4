//! Every ciphertext sealed under a versioned key, table by table, for `lasthop-origin keys
//! rewrap` and `keys retire`: which rows are not yet under the current version, batches of
//! them, their replacement, and how many rows still need a given version. This module moves
//! ciphertexts and blind indexes only; opening and sealing happen in
//! [`crate::commands::keys`].
//!
//! A table is one [`SealedTable`] line in [`SEALED_TABLES`]: a new kind of sealed record (for
//! example wrapped per-buyer data keys) adds its line, and rewrap and retire cover it.
//!
//! A stored blind index names its version (see the core's `BlindIndexKeys`): plain hex is
//! version 1, `v<N>:<hex>` version N.

use sqlx::{AnyPool, FromRow};

use super::{db, StoreError};

type Result<T> = std::result::Result<T, StoreError>;

/// Which store holds a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// The vault.
    Vault,
    /// The directory (the temporary table of records waiting for the vault).
    Directory,
}

/// A table of sealed records: each row has an id (the associated data of its ciphertext),
/// `key_version` and `ciphertext`, and maybe a blind index.
#[derive(Debug, Clone, Copy)]
pub struct SealedTable {
    /// Where it is.
    pub store: StoreKind,
    /// Its name.
    pub table: &'static str,
    /// The column of the record id.
    pub id_column: &'static str,
    /// Whether it has a `blind_index` column (NULL allowed).
    pub blind_index: bool,
}

impl SealedTable {
    /// `vault.address_records`, as an operator reads it.
    pub fn name(&self) -> String {
        let store = match self.store {
            StoreKind::Vault => "vault",
            StoreKind::Directory => "directory",
        };
        format!("{store}.{}", self.table)
    }
}

/// Every table whose rows are sealed under a versioned key.
pub const SEALED_TABLES: &[SealedTable] = &[
    SealedTable {
        store: StoreKind::Vault,
        table: "address_records",
        id_column: "address_id",
        blind_index: true,
    },
    SealedTable {
        store: StoreKind::Vault,
        table: "contact_records",
        id_column: "contact_id",
        blind_index: false,
    },
    SealedTable {
        store: StoreKind::Vault,
        table: "entry_records",
        id_column: "entry_id",
        blind_index: false,
    },
    SealedTable {
        store: StoreKind::Directory,
        table: "vault_pending",
        id_column: "record_id",
        blind_index: true,
    },
];

/// One sealed row as stored.
#[derive(Debug, Clone, FromRow)]
pub struct SealedRow {
    /// The record id.
    pub id: String,
    /// The version it is sealed under.
    pub key_version: i64,
    /// Nonce, ciphertext and tag.
    pub ciphertext: Vec<u8>,
    /// Its blind index, for tables that have one.
    pub blind_index: Option<String>,
}

/// A row re-sealed under the current version.
#[derive(Debug, Clone)]
pub struct Rewrapped {
    /// The row as it was read (the replacement applies only if it is unchanged).
    pub old: SealedRow,
    /// The new version.
    pub key_version: i64,
    /// The new ciphertext.
    pub ciphertext: Vec<u8>,
    /// The new blind index (tables with one; `None` keeps NULL).
    pub blind_index: Option<String>,
}

/// SQL matching a stored blind index made under `version`.
fn index_under(version: u32) -> String {
    if version == 1 {
        "blind_index NOT LIKE 'v%'".to_owned()
    } else {
        format!("blind_index LIKE 'v{version}:%'")
    }
}

/// SQL matching rows not entirely under `current`: the ciphertext or the blind index.
fn stale(table: &SealedTable, current: u32) -> String {
    let mut condition = format!("key_version <> {current}");
    if table.blind_index {
        condition.push_str(&format!(
            " OR (blind_index IS NOT NULL AND NOT ({}))",
            index_under(current)
        ));
    }
    condition
}

/// How many rows of `table` are not yet entirely under `current`.
///
/// # Errors
/// [`StoreError::Unavailable`] when the store fails.
pub async fn stale_count(pool: &AnyPool, table: &SealedTable, current: u32) -> Result<i64> {
    let sql = format!(
        "SELECT COUNT(*) FROM {} WHERE {}",
        table.table,
        stale(table, current)
    );
    db(sqlx::query_scalar(&sql).fetch_one(pool).await)
}

/// Up to `limit` rows of `table` not yet entirely under `current`, by id.
///
/// # Errors
/// [`StoreError::Unavailable`] when the store fails.
pub async fn stale_batch(
    pool: &AnyPool,
    table: &SealedTable,
    current: u32,
    limit: i64,
) -> Result<Vec<SealedRow>> {
    let index = if table.blind_index {
        "blind_index"
    } else {
        "NULL"
    };
    let sql = format!(
        "SELECT {id} AS id, key_version, ciphertext, {index} AS blind_index FROM {table} \
         WHERE {stale} ORDER BY {id} LIMIT $1",
        id = table.id_column,
        table = table.table,
        stale = stale(table, current),
    );
    db(sqlx::query_as(&sql).bind(limit).fetch_all(pool).await)
}

/// Replaces rows in one transaction, each only if it still holds what was read (a record
/// rewritten meanwhile by the serving origin is left to its writer). Returns how many rows
/// were replaced.
///
/// # Errors
/// [`StoreError::Conflict`] when a new blind index is taken by another row (the same address
/// stored twice); [`StoreError::Unavailable`] when the store fails.
pub async fn replace(pool: &AnyPool, table: &SealedTable, rows: &[Rewrapped]) -> Result<u64> {
    let sql = if table.blind_index {
        format!(
            "UPDATE {table} SET key_version = $1, ciphertext = $2, blind_index = $3 \
             WHERE {id} = $4 AND key_version = $5 AND ciphertext = $6",
            table = table.table,
            id = table.id_column
        )
    } else {
        format!(
            "UPDATE {table} SET key_version = $1, ciphertext = $2 \
             WHERE {id} = $3 AND key_version = $4 AND ciphertext = $5",
            table = table.table,
            id = table.id_column
        )
    };
    // The transaction writes first (no read before), so on SQLite it waits for the file's
    // write lock like any writer instead of failing on a lock upgrade.
    let mut tx = db(pool.begin().await)?;
    let mut replaced = 0;
    for row in rows {
        let mut query = sqlx::query(&sql)
            .bind(row.key_version)
            .bind(row.ciphertext.as_slice());
        if table.blind_index {
            query = query.bind(row.blind_index.as_deref());
        }
        let done = db(query
            .bind(row.old.id.as_str())
            .bind(row.old.key_version)
            .bind(row.old.ciphertext.as_slice())
            .execute(&mut *tx)
            .await)?;
        replaced += done.rows_affected();
    }
    db(tx.commit().await)?;
    Ok(replaced)
}

/// How many rows of `table` still need `version`: `(sealed under it, blind indexes under it)`.
///
/// # Errors
/// [`StoreError::Unavailable`] when the store fails.
pub async fn needing(pool: &AnyPool, table: &SealedTable, version: u32) -> Result<(i64, i64)> {
    let sealed_sql = format!(
        "SELECT COUNT(*) FROM {} WHERE key_version = {version}",
        table.table
    );
    let sealed = db(sqlx::query_scalar(&sealed_sql).fetch_one(pool).await)?;
    let indexes = if table.blind_index {
        let sql = format!(
            "SELECT COUNT(*) FROM {} WHERE blind_index IS NOT NULL AND {}",
            table.table,
            index_under(version)
        );
        db(sqlx::query_scalar(&sql).fetch_one(pool).await)?
    } else {
        0
    };
    Ok((sealed, indexes))
}

/// On SQLite, copies the write-ahead log into the file and truncates it, so the log keeps no
/// page image from before the rewrap (deleted content in the file itself is zeroed as it is
/// replaced: see `zeroing_deletes`). Returns false when a reader of the serving origin kept
/// the log from being truncated (it is then reused, and overwritten, by later writes).
///
/// # Errors
/// [`StoreError::Unavailable`] when the store fails.
pub async fn checkpoint_sqlite(pool: &AnyPool) -> Result<bool> {
    let (busy, _, _): (i64, i64, i64) = db(sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(pool)
        .await)?;
    Ok(busy == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_rows_are_those_with_an_old_ciphertext_or_an_old_blind_index() {
        let addresses = &SEALED_TABLES[0];
        assert_eq!(
            stale(addresses, 2),
            "key_version <> 2 OR (blind_index IS NOT NULL AND NOT (blind_index LIKE 'v2:%'))"
        );
        assert_eq!(
            stale(addresses, 1),
            "key_version <> 1 OR (blind_index IS NOT NULL AND NOT (blind_index NOT LIKE 'v%'))"
        );
        assert_eq!(stale(&SEALED_TABLES[1], 3), "key_version <> 3");
        assert_eq!(SEALED_TABLES[3].name(), "directory.vault_pending");
    }
}
