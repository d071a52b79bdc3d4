//! The temporary table: sealed vault records that wait in the directory store while no vault
//! server takes writes (migration `0901_temporary_table`), and the numbers merged at flush time.
//!
//! Only ciphertext sealed under the vault key lives here, with the blind index of addresses, so
//! the directory's administrators still see no plaintext. A registration's records commit in
//! the same transaction as its directory rows.

use sqlx::{AnyConnection, FromRow};

use super::{Directory, Result};
use crate::store::db;
use crate::store::vault::{ByIdKind, SealedRecord};
#[cfg(doc)]
use crate::store::StoreError;

/// A record waiting for the vault.
#[derive(Debug, Clone, FromRow)]
pub struct PendingRecord {
    /// `a_…` for a shared address or a buyer entry, `b_…`/`s_…` for a contact.
    pub record_id: String,
    /// `address`, `contact` or `entry`.
    pub kind: String,
    /// Addresses only: the keyed blind index.
    pub blind_index: Option<String>,
    /// The vault-record key version.
    pub key_version: i64,
    /// The sealed record.
    pub ciphertext: Vec<u8>,
    /// Unix milliseconds.
    pub queued_at: i64,
}

impl PendingRecord {
    /// The sealed record, as the vault would hold it.
    pub fn sealed(&self) -> SealedRecord {
        SealedRecord {
            key_version: self.key_version,
            ciphertext: self.ciphertext.clone(),
        }
    }
}

/// How full the temporary table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PendingSummary {
    /// Records waiting.
    pub depth: i64,
    /// When the oldest was queued (unix milliseconds).
    pub oldest_queued_at: Option<i64>,
}

/// Where a registration's address number comes from.
#[derive(Debug, Clone)]
pub enum AddressSlot<'a> {
    /// A number the vault (or the temporary table) already holds.
    Known(&'a str),
    /// A new record to queue, unless the same address waits already (then its number).
    Queue {
        /// The new number.
        address_id: &'a str,
        /// Its blind index.
        blind_index: &'a str,
        /// The sealed record.
        record: &'a SealedRecord,
    },
}

impl Directory {
    /// A waiting record by id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn pending(&self, record_id: &str) -> Result<Option<SealedRecord>> {
        db(
            sqlx::query_as(
                "SELECT key_version, ciphertext FROM vault_pending WHERE record_id = $1",
            )
            .bind(record_id)
            .fetch_optional(self.store.pool())
            .await,
        )
    }

    /// The number of a waiting address with this blind index.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn pending_address_by_blind_index(
        &self,
        blind_index: &str,
    ) -> Result<Option<String>> {
        let row: Option<(String,)> = db(sqlx::query_as(
            "SELECT record_id FROM vault_pending WHERE blind_index = $1",
        )
        .bind(blind_index)
        .fetch_optional(self.store.pool())
        .await)?;
        Ok(row.map(|(id,)| id))
    }

    /// The number an address number was merged into when it was flushed.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn merged_into(&self, address_id: &str) -> Result<Option<String>> {
        let row: Option<(String,)> = db(sqlx::query_as(
            "SELECT into_id FROM vault_merged WHERE from_id = $1",
        )
        .bind(address_id)
        .fetch_optional(self.store.pool())
        .await)?;
        Ok(row.map(|(id,)| id))
    }

    /// Registers a buyer whose records wait for the vault, all in one transaction: the
    /// address (queued, or shared with a waiting identical one, or a known number), the
    /// buyer's entry and contact when given, the buyer and the buyer's entry link. Returns the
    /// address number.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] if the buyer id exists; otherwise unavailability.
    pub async fn insert_buyer_queued(
        &self,
        buyer: &NewBuyer<'_>,
        address: &AddressSlot<'_>,
        waiting: &[(ByIdKind, &str, &SealedRecord)],
    ) -> Result<String> {
        let mut attempts = self.store.transactions();
        loop {
            let mut tx = attempts.begin().await?;
            let outcome = insert_buyer_queued_in(&mut tx, buyer, address, waiting).await;
            if let Some(done) = attempts.settle(tx, outcome).await? {
                return Ok(done);
            }
        }
    }

    /// Gives a buyer an entry for an address, queuing the address record first when it must
    /// wait, and the entry record with it, in one transaction. Returns the entry id that holds
    /// it (a buyer who has an entry for the same number keeps that one, and the new entry
    /// record is not queued).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn link_address_queued(
        &self,
        buyer_id: &str,
        address: &AddressSlot<'_>,
        entry_id: &str,
        entry: Option<&SealedRecord>,
        now: i64,
    ) -> Result<String> {
        let mut attempts = self.store.transactions();
        loop {
            let mut tx = attempts.begin().await?;
            let outcome = async {
                let number = slot_number(&mut tx, address, now).await?;
                let held =
                    super::people::link_in(&mut tx, buyer_id, &number, entry_id, now).await?;
                if let (true, Some(record)) = (held == entry_id, entry) {
                    queue_by_id_query(ByIdKind::Entry, entry_id, record, now)
                        .execute(&mut *tx)
                        .await?;
                }
                Ok(held)
            }
            .await;
            if let Some(done) = attempts.settle(tx, outcome).await? {
                return Ok(done);
            }
        }
    }

    /// Points a buyer's entry at a modified address whose record must wait (queued, or shared
    /// with a waiting identical one, or a known number) and queues the entry's new version, in
    /// one transaction.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the buyer has another entry for that address; otherwise
    /// unavailability.
    pub async fn repoint_entry_queued(
        &self,
        address: &AddressSlot<'_>,
        entry_id: &str,
        entry: &SealedRecord,
        now: i64,
    ) -> Result<()> {
        let mut attempts = self.store.transactions();
        loop {
            let mut tx = attempts.begin().await?;
            let outcome = async {
                let number = slot_number(&mut tx, address, now).await?;
                super::people::repoint_query(entry_id, &number)
                    .execute(&mut *tx)
                    .await?;
                queue_by_id_query(ByIdKind::Entry, entry_id, entry, now)
                    .execute(&mut *tx)
                    .await?;
                Ok(())
            }
            .await;
            if let Some(done) = attempts.settle(tx, outcome).await? {
                return Ok(done);
            }
        }
    }

    /// Queues a record kept by its id, a contact or a buyer entry (replacing a waiting one of
    /// the same id).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn queue_record(
        &self,
        kind: ByIdKind,
        record_id: &str,
        record: &SealedRecord,
        now: i64,
    ) -> Result<()> {
        db(self
            .store
            .execute(queue_by_id_query(kind, record_id, record, now))
            .await)?;
        Ok(())
    }

    /// The oldest waiting records, at most `limit`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn oldest_pending(&self, limit: i64) -> Result<Vec<PendingRecord>> {
        db(sqlx::query_as(
            "SELECT record_id, kind, blind_index, key_version, ciphertext, queued_at \
             FROM vault_pending ORDER BY queued_at, record_id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.store.pool())
        .await)
    }

    /// Depth and age of the temporary table.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn pending_summary(&self) -> Result<PendingSummary> {
        let (depth, oldest_queued_at): (i64, Option<i64>) = db(sqlx::query_as(
            "SELECT COUNT(*), MIN(queued_at) FROM vault_pending",
        )
        .fetch_one(self.store.pool())
        .await)?;
        Ok(PendingSummary {
            depth,
            oldest_queued_at,
        })
    }

    /// Removes records the vault now holds, in one transaction.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn forget_pending(&self, record_ids: &[&str]) -> Result<()> {
        let mut attempts = self.store.transactions();
        loop {
            let mut tx = attempts.begin().await?;
            let outcome = async {
                for id in record_ids {
                    sqlx::query("DELETE FROM vault_pending WHERE record_id = $1")
                        .bind(*id)
                        .execute(&mut *tx)
                        .await?;
                }
                Ok(())
            }
            .await;
            if let Some(done) = attempts.settle(tx, outcome).await? {
                return Ok(done);
            }
        }
    }

    /// A waiting address turned out to be one the vault already held under `into`: the waiting
    /// number is merged into it — remembered, buyer entries re-pointed (a buyer who holds both
    /// keeps the older entry, and orders naming the other move to it) — and the record removed,
    /// in one transaction. Reads of the old number follow the merge.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the store fails.
    pub async fn merge_pending_address(&self, pending: &str, into: &str) -> Result<()> {
        let mut attempts = self.store.transactions();
        loop {
            let mut tx = attempts.begin().await?;
            let outcome = merge_in(&mut tx, pending, into).await;
            if let Some(done) = attempts.settle(tx, outcome).await? {
                return Ok(done);
            }
        }
    }
}

/// The directory side of a new buyer.
#[derive(Debug, Clone)]
pub struct NewBuyer<'a> {
    /// `b_…` (also the contact's id).
    pub buyer_id: &'a str,
    /// The platform.
    pub platform_id: &'a str,
    /// The first address entry's own id.
    pub entry_id: &'a str,
    /// The profile key of a buyer who registered sealed (written in the same transaction, so
    /// such a buyer never exists without it).
    pub profile_key: Option<&'a str>,
    /// Unix milliseconds.
    pub now: i64,
}

async fn insert_buyer_queued_in(
    conn: &mut AnyConnection,
    buyer: &NewBuyer<'_>,
    address: &AddressSlot<'_>,
    waiting: &[(ByIdKind, &str, &SealedRecord)],
) -> std::result::Result<String, sqlx::Error> {
    let number = slot_number(conn, address, buyer.now).await?;
    for (kind, id, record) in waiting {
        queue_by_id_query(*kind, id, record, buyer.now)
            .execute(&mut *conn)
            .await?;
    }
    super::people::insert_buyer_in(conn, buyer, &number).await?;
    Ok(number)
}

/// The address number of a slot, queuing its record when it is new. A waiting identical
/// address (same blind index) wins: its number is shared.
async fn slot_number(
    conn: &mut AnyConnection,
    address: &AddressSlot<'_>,
    now: i64,
) -> std::result::Result<String, sqlx::Error> {
    let (address_id, blind_index, record) = match address {
        AddressSlot::Known(number) => return Ok((*number).to_owned()),
        AddressSlot::Queue {
            address_id,
            blind_index,
            record,
        } => (*address_id, *blind_index, *record),
    };
    let queued: Option<(String,)> = sqlx::query_as(
        "INSERT INTO vault_pending (record_id, kind, blind_index, key_version, ciphertext, queued_at) \
         VALUES ($1, 'address', $2, $3, $4, $5) ON CONFLICT (blind_index) DO NOTHING RETURNING record_id",
    )
    .bind(address_id)
    .bind(blind_index)
    .bind(record.key_version)
    .bind(&record.ciphertext)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((number,)) = queued {
        return Ok(number);
    }
    let (waiting,): (String,) =
        sqlx::query_as("SELECT record_id FROM vault_pending WHERE blind_index = $1")
            .bind(blind_index)
            .fetch_one(&mut *conn)
            .await?;
    Ok(waiting)
}

fn queue_by_id_query<'q>(
    kind: ByIdKind,
    record_id: &'q str,
    record: &'q SealedRecord,
    now: i64,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    sqlx::query(
        "INSERT INTO vault_pending (record_id, kind, blind_index, key_version, ciphertext, queued_at) \
         VALUES ($1, $5, NULL, $2, $3, $4) ON CONFLICT (record_id) DO UPDATE \
         SET key_version = excluded.key_version, ciphertext = excluded.ciphertext",
    )
    .bind(record_id)
    .bind(record.key_version)
    .bind(&record.ciphertext)
    .bind(now)
    .bind(kind.as_str())
}

/// The pending row goes first: it is what a concurrent registration sharing this number reads,
/// and every later statement (a new snapshot at `READ COMMITTED`) then sees that
/// registration's rows too.
async fn merge_in(
    conn: &mut AnyConnection,
    pending: &str,
    into: &str,
) -> std::result::Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM vault_pending WHERE record_id = $1")
        .bind(pending)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO vault_merged (from_id, into_id) VALUES ($1, $2) ON CONFLICT (from_id) DO NOTHING",
    )
    .bind(pending)
    .bind(into)
    .execute(&mut *conn)
    .await?;
    // A buyer who holds both numbers keeps the entry of the older one: orders naming the
    // waiting number's entry move to it, and that entry's link goes (its sealed record stays
    // readable for the audit rows that name it).
    sqlx::query(
        "UPDATE orders SET address_id = (SELECT keep.entry_id FROM buyer_addresses keep \
           JOIN buyer_addresses gone ON gone.buyer_id = keep.buyer_id \
           WHERE keep.address_id = $2 AND gone.address_id = $1 AND gone.entry_id = orders.address_id) \
         WHERE address_id IN (SELECT gone.entry_id FROM buyer_addresses gone \
           JOIN buyer_addresses keep ON keep.buyer_id = gone.buyer_id \
           WHERE gone.address_id = $1 AND keep.address_id = $2)",
    )
    .bind(pending)
    .bind(into)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM buyer_addresses WHERE address_id = $1 \
         AND buyer_id IN (SELECT buyer_id FROM buyer_addresses WHERE address_id = $2)",
    )
    .bind(pending)
    .bind(into)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE buyer_addresses SET address_id = $2 WHERE address_id = $1")
        .bind(pending)
        .bind(into)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
