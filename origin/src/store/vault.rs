//! The vault store: sealed shared address records, contact records and buyer entries. This module moves ciphertexts
//! only; sealing and opening happen in [`crate::records`].
//!
//! Every call goes through the [`VaultSwitch`]: writes to the server that takes writes, reads
//! to the one that answers (retried once on the other server when the first fails), each call
//! bounded in time. A call that fails for want of a server is [`StoreError::Unavailable`]; the
//! caller then falls back to the temporary table (see [`super::Stores`]).

use std::future::Future;
use std::time::Duration;

use sqlx::{AnyConnection, AnyPool, FromRow};

use super::directory::PendingRecord;
use super::failover::{Role, VaultSwitch, CALL_TIMEOUT};
use super::pool::StorePool;
use super::StoreError;

type Result<T> = std::result::Result<T, StoreError>;

/// How long one vault write may take: longer than a read, since a commit waits for the
/// synchronous standby and, on SQLite, for this origin's other writers.
const WRITE_TIMEOUT: Duration = Duration::from_secs(3);

/// A ciphertext and the key version it was sealed under.
#[derive(Debug, Clone, FromRow)]
pub struct SealedRecord {
    /// The vault-record key version; also part of the associated data.
    pub key_version: i64,
    /// XChaCha20-Poly1305 output (nonce included) as produced by the core's `seal`.
    pub ciphertext: Vec<u8>,
}

/// What writing a waiting record into the vault found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flushed {
    /// The record is in the vault under its number (written now, or by an earlier attempt).
    Stored,
    /// The vault already holds the same address under this other number.
    SameAddressAs(String),
    /// Its number holds another address (a collision 128 random bits rule out in practice):
    /// it stays waiting, and the flush says so in the log.
    Blocked,
}

/// Handle on the vault's servers.
#[derive(Clone)]
pub struct Vault {
    switch: VaultSwitch,
}

impl Vault {
    pub(super) fn new(switch: VaultSwitch) -> Self {
        Self { switch }
    }

    /// The switch between the primary and the standby.
    pub fn switch(&self) -> &VaultSwitch {
        &self.switch
    }

    /// The primary's pool as it is now, for tests that read the raw store or close it.
    pub fn primary_pool(&self) -> Option<AnyPool> {
        self.switch.primary_pool()
    }

    /// Whether a server takes writes now (as last probed).
    pub fn writable(&self) -> bool {
        self.switch.route().writer.is_some()
    }

    /// The address number whose normalised address has this blind index, if any.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no server answers.
    pub async fn address_by_blind_index(&self, blind_index: &str) -> Result<Option<String>> {
        let row: Option<(String,)> = self
            .read(|pool| async move {
                Ok(
                    sqlx::query_as("SELECT address_id FROM address_records WHERE blind_index = $1")
                        .bind(blind_index)
                        .fetch_optional(pool.pool())
                        .await?,
                )
            })
            .await?;
        Ok(row.map(|(id,)| id))
    }

    /// Stores a new address record unless its blind index is stored already, and returns the
    /// number that holds the address: `address_id` when it was stored, else the existing one
    /// (a concurrent registration of the same address waits for the first and shares it).
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when `address_id` itself exists with another blind index (a
    /// number collision); [`StoreError::Unavailable`] when no server takes writes.
    pub async fn insert_or_share_address(
        &self,
        address_id: &str,
        blind_index: &str,
        record: &SealedRecord,
    ) -> Result<String> {
        self.write(|pool| async move {
            // The existing record can only vanish between the two statements when an operator
            // deletes it; a second round then stores ours.
            for _ in 0..3 {
                let inserted: Option<(String,)> = pool
                    .fetch_optional(
                        sqlx::query_as(
                            "INSERT INTO address_records (address_id, blind_index, key_version, ciphertext) \
                             VALUES ($1, $2, $3, $4) ON CONFLICT (blind_index) DO NOTHING RETURNING address_id",
                        )
                        .bind(address_id)
                        .bind(blind_index)
                        .bind(record.key_version)
                        .bind(&record.ciphertext),
                    )
                    .await?;
                if let Some((stored,)) = inserted {
                    return Ok(Some(stored));
                }
                let existing: Option<(String,)> = sqlx::query_as(
                    "SELECT address_id FROM address_records WHERE blind_index = $1",
                )
                .bind(blind_index)
                .fetch_optional(pool.pool())
                .await?;
                if let Some((existing,)) = existing {
                    return Ok(Some(existing));
                }
            }
            Ok(None)
        })
        .await?
        .ok_or(StoreError::Unavailable)
    }

    /// Writes records that waited in the temporary table, in one transaction, each exactly once
    /// whatever happened before: an address is stored under its number, or found there already
    /// (an earlier flush, or the original write that was thought lost), or found under another
    /// number (the same address, stored before); a contact is written or replaced by the same.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no server takes writes.
    pub async fn flush(&self, waiting: &[PendingRecord]) -> Result<Vec<Flushed>> {
        self.write(|pool| async move {
            let mut attempts = pool.transactions();
            loop {
                let mut tx = attempts.begin().await?;
                let outcome = flush_in(&mut tx, waiting).await;
                if let Some(done) = attempts.settle(tx, outcome).await? {
                    return Ok(done);
                }
            }
        })
        .await
    }

    /// The sealed address record for an address number.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no server answers.
    pub async fn address(&self, address_id: &str) -> Result<Option<SealedRecord>> {
        self.read(|pool| async move {
            Ok(sqlx::query_as(
                "SELECT key_version, ciphertext FROM address_records WHERE address_id = $1",
            )
            .bind(address_id)
            .fetch_optional(pool.pool())
            .await?)
        })
        .await
    }

    /// Stores or replaces a record kept by its id: a contact (a buyer's name and phone, or a
    /// seller's name) or a buyer entry.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no server takes writes.
    pub async fn put_record(&self, kind: ByIdKind, id: &str, record: &SealedRecord) -> Result<()> {
        self.write(|pool| async move {
            pool.execute(upsert_by_id(kind, id, record)).await?;
            Ok(())
        })
        .await
    }

    /// A sealed record kept by its id: a contact (`b_…`, `s_…`) or a buyer entry (`a_…`).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no server answers.
    pub async fn record(&self, kind: ByIdKind, id: &str) -> Result<Option<SealedRecord>> {
        self.read(|pool| async move {
            Ok(sqlx::query_as(kind.select())
                .bind(id)
                .fetch_optional(pool.pool())
                .await?)
        })
        .await
    }

    /// One read on the server that answers, retried once on the other when it fails.
    pub(super) async fn read<T, F, Fut>(&self, call: F) -> Result<T>
    where
        F: Fn(StorePool) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let first = self.switch.reader();
        let tried = first.as_ref().map(|(role, _)| *role);
        if let Some((role, pool)) = first {
            match self.attempt(role, CALL_TIMEOUT, call(pool)).await {
                Err(StoreError::Unavailable) => {}
                done => return done,
            }
        }
        // The reader failed or none was known: the other server may answer (a standby the
        // probe has not seen yet, or the primary back).
        let other = self.switch.other(tried.unwrap_or(Role::Standby));
        if let Some((role, pool)) = other {
            return self.attempt(role, CALL_TIMEOUT, call(pool)).await;
        }
        Err(StoreError::Unavailable)
    }

    /// One write on the server that takes writes.
    pub(super) async fn write<T, F, Fut>(&self, call: F) -> Result<T>
    where
        F: FnOnce(StorePool) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let (role, pool) = self.switch.writer().ok_or(StoreError::Unavailable)?;
        self.attempt(role, WRITE_TIMEOUT, call(pool)).await
    }

    /// Runs one call within `limit`; a server that fails or does not answer in time is
    /// suspected, so the next calls go elsewhere until the probe finds it well again.
    async fn attempt<T>(
        &self,
        role: Role,
        limit: Duration,
        call: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        match tokio::time::timeout(limit, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => {
                if matches!(err, StoreError::Unavailable) {
                    self.switch.suspect(role);
                }
                Err(err)
            }
            Err(_) => {
                tracing::warn!(server = role.as_str(), "vault call timed out");
                self.switch.suspect(role);
                Err(StoreError::Unavailable)
            }
        }
    }
}

/// The vault's records kept by their own id (as opposed to shared addresses, found by blind
/// index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByIdKind {
    /// A buyer's name and phone, or a seller's name (`contact_records`).
    Contact,
    /// A buyer's own address entry (`entry_records`).
    Entry,
}

impl ByIdKind {
    /// The temporary table's `kind` word.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contact => "contact",
            Self::Entry => "entry",
        }
    }

    /// The kind of a temporary-table row without a blind index.
    pub(crate) fn of_pending(kind: &str) -> Self {
        if kind == "entry" {
            Self::Entry
        } else {
            Self::Contact
        }
    }

    fn select(self) -> &'static str {
        match self {
            Self::Contact => {
                "SELECT key_version, ciphertext FROM contact_records WHERE contact_id = $1"
            }
            Self::Entry => "SELECT key_version, ciphertext FROM entry_records WHERE entry_id = $1",
        }
    }

    fn upsert(self) -> &'static str {
        match self {
            Self::Contact => {
                "INSERT INTO contact_records (contact_id, key_version, ciphertext) VALUES ($1, $2, $3) \
                 ON CONFLICT (contact_id) DO UPDATE SET key_version = excluded.key_version, \
                 ciphertext = excluded.ciphertext"
            }
            Self::Entry => {
                "INSERT INTO entry_records (entry_id, key_version, ciphertext) VALUES ($1, $2, $3) \
                 ON CONFLICT (entry_id) DO UPDATE SET key_version = excluded.key_version, \
                 ciphertext = excluded.ciphertext"
            }
        }
    }
}

fn upsert_by_id<'q>(
    kind: ByIdKind,
    id: &'q str,
    record: &'q SealedRecord,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    sqlx::query(kind.upsert())
        .bind(id)
        .bind(record.key_version)
        .bind(&record.ciphertext)
}

/// Each waiting record, written unless it is there already. Idempotent, so a flush that is
/// interrupted after this commit (before the table forgets the records) writes nothing twice.
async fn flush_in(
    conn: &mut AnyConnection,
    waiting: &[PendingRecord],
) -> std::result::Result<Vec<Flushed>, sqlx::Error> {
    let mut outcomes = Vec::with_capacity(waiting.len());
    for record in waiting {
        let Some(blind_index) = record.blind_index.as_deref() else {
            let sealed = record.sealed();
            upsert_by_id(
                ByIdKind::of_pending(&record.kind),
                &record.record_id,
                &sealed,
            )
            .execute(&mut *conn)
            .await?;
            outcomes.push(Flushed::Stored);
            continue;
        };
        sqlx::query(
            "INSERT INTO address_records (address_id, blind_index, key_version, ciphertext) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(&record.record_id)
        .bind(blind_index)
        .bind(record.key_version)
        .bind(&record.ciphertext)
        .execute(&mut *conn)
        .await?;
        let holder: Option<(String,)> =
            sqlx::query_as("SELECT address_id FROM address_records WHERE blind_index = $1")
                .bind(blind_index)
                .fetch_optional(&mut *conn)
                .await?;
        outcomes.push(match holder {
            Some((holder,)) if holder == record.record_id => Flushed::Stored,
            Some((holder,)) => Flushed::SameAddressAs(holder),
            None => Flushed::Blocked,
        });
    }
    Ok(outcomes)
}
