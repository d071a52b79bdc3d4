//! Sealed records wherever they are: the vault (its primary or, for reads, its standby) or,
//! while no vault server takes writes, the temporary table in the directory store.
//!
//! - Writes try the vault first. When it cannot be written, a registration's records wait in
//!   the temporary table, committed with the registration's directory rows; the caller gets
//!   the same answer (201, the ids, the address number).
//! - Identical addresses share one number: a waiting one is found by its blind index before the
//!   vault is asked; a readable vault (the standby) is asked before a new record is queued; and
//!   an address queued while the vault was unreadable but that it held already is merged into
//!   the vault's number when it is flushed.
//! - Reads ask the vault, then the temporary table, then follow a merged number.
//! - [`Stores::flush_pending`] writes the waiting records into the vault once it takes writes
//!   again, each exactly once (idempotent on its number), and then removes them.

use super::directory::{AddressSlot, NewBuyer, PendingSummary};
use super::vault::{ByIdKind, Flushed, SealedRecord};
use super::{StoreError, Stores};

type Result<T> = std::result::Result<T, StoreError>;

/// A new address record, sealed under its (new) number.
#[derive(Debug, Clone)]
pub struct NewAddress {
    /// The number it is sealed under, used unless the address is stored already.
    pub address_id: String,
    /// The keyed blind index of its normalised form, under the current key version.
    pub blind_index: String,
    /// Its blind indexes under the older key versions held: an identical address stored
    /// before a key rotation is found through one of them (newest first).
    pub older_indexes: Vec<String>,
    /// The sealed record.
    pub record: SealedRecord,
}

/// A buyer's address entry (their spelling, label, recipient and provenance), sealed under its
/// own `a_…` id.
#[derive(Debug, Clone)]
pub struct NewEntry {
    /// The entry's id, used unless the buyer has an entry for the same address already.
    pub entry_id: String,
    /// The sealed entry.
    pub record: SealedRecord,
}

/// A contact record (a buyer's name and phone, or a seller's name), sealed under its id.
#[derive(Debug, Clone)]
pub struct NewContact {
    /// `b_…` or `s_…`.
    pub contact_id: String,
    /// The sealed record.
    pub record: SealedRecord,
}

/// What one flush round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlushReport {
    /// Records written into the vault (or found there) and removed.
    pub flushed: usize,
    /// Addresses merged into a number the vault already had.
    pub merged: usize,
    /// What is left waiting.
    pub left: PendingSummary,
}

impl Stores {
    /// Registers a buyer: the address (a new record, or the number of the same address stored
    /// before), the buyer's entry for it, the contact, and the directory rows (the entry id is
    /// `buyer.entry_id`). Returns the address number.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the directory fails (nothing is lost: nothing was
    /// acknowledged), or a store's refusal.
    pub async fn register_buyer(
        &self,
        buyer: &NewBuyer<'_>,
        address: &NewAddress,
        entry: &SealedRecord,
        contact: &NewContact,
    ) -> Result<String> {
        let mut number = self.waiting_number(address).await?;
        let mut stored = false;
        if self.vault.writable() {
            if number.is_none() {
                number = self.vault_number(address).await?;
            }
            if number.is_some() {
                stored = unless_outage(
                    self.vault
                        .put_record(ByIdKind::Entry, buyer.entry_id, entry)
                        .await,
                )?
                .is_some()
                    && unless_outage(
                        self.vault
                            .put_record(ByIdKind::Contact, &contact.contact_id, &contact.record)
                            .await,
                    )?
                    .is_some();
            }
        }
        if let (Some(number), true) = (&number, stored) {
            self.directory.insert_buyer(buyer, number).await?;
            return Ok(number.clone());
        }
        if number.is_none() {
            number = self.readable_number(address).await?;
        }
        let slot = slot(number.as_deref(), address);
        // Both wait (again, should one of them have reached the vault): the flush writes each
        // exactly once by its id.
        let waiting = [
            (ByIdKind::Entry, buyer.entry_id, entry),
            (
                ByIdKind::Contact,
                contact.contact_id.as_str(),
                &contact.record,
            ),
        ];
        let number = self
            .directory
            .insert_buyer_queued(buyer, &slot, &waiting)
            .await?;
        self.note_queued();
        Ok(number)
    }

    /// Adds an address for a buyer (a new record or the number of the same address stored
    /// before) and gives the buyer an entry for it. Returns the entry id: `entry.entry_id`, or
    /// the buyer's existing entry for the same address, which is left as it was.
    ///
    /// # Errors
    /// As [`Stores::register_buyer`].
    pub async fn add_address(
        &self,
        buyer_id: &str,
        address: &NewAddress,
        entry: &NewEntry,
        now: i64,
    ) -> Result<String> {
        let mut number = self.waiting_number(address).await?;
        if number.is_none() && self.vault.writable() {
            number = self.vault_number(address).await?;
        }
        if let Some(number) = &number {
            if let Some(held) = self.directory.entry_for_number(buyer_id, number).await? {
                return Ok(held);
            }
            let written = unless_outage(
                self.vault
                    .put_record(ByIdKind::Entry, &entry.entry_id, &entry.record)
                    .await,
            )?;
            if written.is_some() {
                return self
                    .directory
                    .link_address(buyer_id, number, &entry.entry_id, now)
                    .await;
            }
        }
        let number = match number {
            Some(number) => Some(number),
            None => self.readable_number(address).await?,
        };
        let slot = slot(number.as_deref(), address);
        let held = self
            .directory
            .link_address_queued(buyer_id, &slot, &entry.entry_id, Some(&entry.record), now)
            .await?;
        self.note_queued();
        Ok(held)
    }

    /// A modified entry: points it at the modified address's number (the one it had, the same
    /// address's stored before, or a new record) and writes its new version.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when the buyer has another entry for the modified address;
    /// otherwise as [`Stores::register_buyer`].
    pub async fn modify_entry(
        &self,
        current_number: &str,
        address: &NewAddress,
        entry: &NewEntry,
        now: i64,
    ) -> Result<()> {
        let mut number = self.waiting_number(address).await?;
        if number.is_none() && self.vault.writable() {
            number = self.vault_number(address).await?;
        }
        if number.is_none() {
            number = self.readable_number(address).await?;
        }
        match number {
            Some(number) => {
                if number != current_number {
                    self.directory
                        .repoint_entry(&entry.entry_id, &number)
                        .await?;
                }
                self.put_entry(entry, now).await
            }
            None => {
                self.directory
                    .repoint_entry_queued(&slot(None, address), &entry.entry_id, &entry.record, now)
                    .await?;
                self.note_queued();
                Ok(())
            }
        }
    }

    /// Writes a new version of a buyer's entry, in the vault or, failing that, in the
    /// temporary table.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when neither can be written.
    pub async fn put_entry(&self, entry: &NewEntry, now: i64) -> Result<()> {
        self.put_by_id(ByIdKind::Entry, &entry.entry_id, &entry.record, now)
            .await
    }

    /// Stores a contact record (a seller's), in the vault or, failing that, in the temporary
    /// table.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when neither can be written.
    pub async fn put_contact(&self, contact: &NewContact, now: i64) -> Result<()> {
        self.put_by_id(ByIdKind::Contact, &contact.contact_id, &contact.record, now)
            .await
    }

    async fn put_by_id(
        &self,
        kind: ByIdKind,
        id: &str,
        record: &SealedRecord,
        now: i64,
    ) -> Result<()> {
        if self.vault.writable()
            && unless_outage(self.vault.put_record(kind, id, record).await)?.is_some()
        {
            return Ok(());
        }
        self.directory.queue_record(kind, id, record, now).await?;
        self.note_queued();
        Ok(())
    }

    /// An address record and the number it is sealed under: from the vault, else the
    /// temporary table, else the record of the number it was merged into.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the vault cannot be read and the record does not wait.
    pub async fn address(&self, address_id: &str) -> Result<Option<(String, SealedRecord)>> {
        let (found, outage) = self
            .vault_or_pending(self.vault.address(address_id).await, address_id)
            .await?;
        if let Some(record) = found {
            return Ok(Some((address_id.to_owned(), record)));
        }
        if let Some(into) = self.directory.merged_into(address_id).await? {
            let (found, outage) = self
                .vault_or_pending(self.vault.address(&into).await, &into)
                .await?;
            return match found {
                Some(record) => Ok(Some((into, record))),
                None if outage => Err(StoreError::Unavailable),
                None => Ok(None),
            };
        }
        if outage {
            return Err(StoreError::Unavailable);
        }
        Ok(None)
    }

    /// A record kept by its id (a contact or a buyer entry): from the vault, else the
    /// temporary table.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the vault cannot be read and the record does not wait.
    pub async fn record(&self, kind: ByIdKind, id: &str) -> Result<Option<SealedRecord>> {
        let (found, outage) = self
            .vault_or_pending(self.vault.record(kind, id).await, id)
            .await?;
        if found.is_none() && outage {
            return Err(StoreError::Unavailable);
        }
        Ok(found)
    }

    /// Writes up to `batch` of the oldest waiting records into the vault, each exactly once,
    /// and removes them (merging an address the vault held already under another number).
    /// Stops at the first record the vault does not take.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the directory fails.
    pub async fn flush_pending(&self, batch: i64) -> Result<FlushReport> {
        let mut report = FlushReport::default();
        let waiting = if self.vault.writable() {
            self.directory.oldest_pending(batch).await?
        } else {
            Vec::new()
        };
        if !waiting.is_empty() {
            match self.vault.flush(&waiting).await {
                Ok(outcomes) => {
                    let mut stored = Vec::new();
                    for (record, outcome) in waiting.iter().zip(outcomes) {
                        match outcome {
                            Flushed::Stored => stored.push(record.record_id.as_str()),
                            Flushed::SameAddressAs(into) => {
                                self.directory
                                    .merge_pending_address(&record.record_id, &into)
                                    .await?;
                                report.merged += 1;
                            }
                            Flushed::Blocked => tracing::error!(
                                "a waiting address's number holds another address in the \
                                 vault; it stays in the temporary table"
                            ),
                        }
                    }
                    self.directory.forget_pending(&stored).await?;
                    report.flushed = stored.len() + report.merged;
                }
                Err(StoreError::Unavailable) => {}
                Err(other) => {
                    tracing::error!(error = %other, "waiting vault records could not be flushed");
                }
            }
        }
        report.left = self.directory.pending_summary().await?;
        self.pending_hint
            .store(report.left.depth, std::sync::atomic::Ordering::SeqCst);
        Ok(report)
    }

    /// The address's number in the vault (ours, or the same address's stored before), or
    /// `None` when no vault server takes the write.
    async fn vault_number(&self, address: &NewAddress) -> Result<Option<String>> {
        for older in &address.older_indexes {
            match unless_outage(self.vault.address_by_blind_index(older).await)? {
                Some(Some(number)) => return Ok(Some(number)),
                Some(None) => {}
                None => return Ok(None),
            }
        }
        unless_outage(
            self.vault
                .insert_or_share_address(&address.address_id, &address.blind_index, &address.record)
                .await,
        )
    }

    /// The number of an identical address waiting in the temporary table, looked up only
    /// while something waits (as far as this origin knows).
    async fn waiting_number(&self, address: &NewAddress) -> Result<Option<String>> {
        if self.pending_hint.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            return Ok(None);
        }
        for index in std::iter::once(&address.blind_index).chain(&address.older_indexes) {
            if let Some(number) = self.directory.pending_address_by_blind_index(index).await? {
                return Ok(Some(number));
            }
        }
        Ok(None)
    }

    /// The number the vault holds for this address (indexed under any key version held),
    /// when it can be read at all.
    async fn readable_number(&self, address: &NewAddress) -> Result<Option<String>> {
        for index in std::iter::once(&address.blind_index).chain(&address.older_indexes) {
            match unless_outage(self.vault.address_by_blind_index(index).await)? {
                Some(Some(number)) => return Ok(Some(number)),
                Some(None) => {}
                None => return Ok(None),
            }
        }
        Ok(None)
    }

    /// A vault read's record, else the waiting one; and whether the vault was out.
    async fn vault_or_pending(
        &self,
        vault: Result<Option<SealedRecord>>,
        record_id: &str,
    ) -> Result<(Option<SealedRecord>, bool)> {
        let outage = match vault {
            Ok(Some(record)) => return Ok((Some(record), false)),
            Ok(None) => false,
            Err(StoreError::Unavailable) => true,
            Err(other) => return Err(other),
        };
        Ok((self.directory.pending(record_id).await?, outage))
    }

    fn note_queued(&self) {
        self.pending_hint
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Where a registration's address comes from when its records must wait: a number already
/// known, or a new record to queue.
fn slot<'a>(known: Option<&'a str>, address: &'a NewAddress) -> AddressSlot<'a> {
    match known {
        Some(number) => AddressSlot::Known(number),
        None => AddressSlot::Queue {
            address_id: &address.address_id,
            blind_index: &address.blind_index,
            record: &address.record,
        },
    }
}

/// A vault write's value, or `None` when no vault server could take it (the caller then
/// queues the record); other failures pass through.
fn unless_outage<T>(result: Result<T>) -> Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(StoreError::Unavailable) => Ok(None),
        Err(other) => Err(other),
    }
}
