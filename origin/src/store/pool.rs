//! A store's pool and how it writes, so that writes never fail because another one ran at the
//! same moment.
//!
//! - **SQLite** has one writer per file. A deferred transaction that reads and then writes
//!   cannot upgrade its lock while another connection writes, and fails at once (`SQLITE_BUSY`,
//!   no busy wait). So every write here takes the file's write lock up front: transactions
//!   begin with `BEGIN IMMEDIATE`, and within this process writers queue on one async lock
//!   (first come, first served) instead of polling the file lock with SQLite's sleeping busy
//!   handler. The driver's busy timeout (5 s) still covers another process writing the file.
//!   Readers never wait (WAL).
//! - **PostgreSQL** transactions run at `READ COMMITTED`; each write transaction is built of
//!   statements that are atomic on their own (`INSERT … ON CONFLICT DO NOTHING` then read,
//!   `UPDATE … WHERE <expected state>` that locks the row it checks), so a concurrent twin
//!   waits for the row instead of racing past a read. Serialisation failures and deadlocks
//!   (`40001`, `40P01`) are retried a bounded number of times with a short random pause.
//!
//! A transaction is written as a loop over [`Transactions`]:
//!
//! ```ignore
//! let mut attempts = self.store.transactions();
//! loop {
//!     let mut tx = attempts.begin().await?;
//!     let outcome = body(&mut tx, ...).await;          // statements on `&mut *tx`
//!     if let Some(done) = attempts.settle(tx, outcome).await? {
//!         return Ok(done);
//!     }
//! }
//! ```

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow};
use sqlx::query::{Query, QueryAs};
use sqlx::{Any, AnyConnection, AnyPool, FromRow, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::{Backend, StoreError};

/// How often a transaction is tried before its failure is reported.
const ATTEMPTS: u32 = 5;

/// A store's connection pool with its write discipline. Cheap to clone.
#[derive(Clone)]
pub(crate) struct StorePool {
    pool: AnyPool,
    backend: Backend,
    /// SQLite only: the one writer of this process at a time, queued fairly.
    writer: Option<Arc<Mutex<()>>>,
}

impl StorePool {
    pub(crate) fn new(pool: AnyPool, backend: Backend) -> Self {
        let writer = (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Self {
            pool,
            backend,
            writer,
        }
    }

    /// The pool, for reads (and tests that inspect the raw store).
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Runs one writing statement on its own (autocommit).
    pub(crate) async fn execute<'q>(
        &self,
        query: Query<'q, Any, AnyArguments<'q>>,
    ) -> Result<AnyQueryResult, sqlx::Error> {
        let _writer = self.writer().await;
        query.execute(&self.pool).await
    }

    /// Runs one writing statement with `RETURNING` on its own; its row, if any.
    pub(crate) async fn fetch_optional<'q, O>(
        &self,
        query: QueryAs<'q, Any, O, AnyArguments<'q>>,
    ) -> Result<Option<O>, sqlx::Error>
    where
        O: Send + Unpin + for<'r> FromRow<'r, AnyRow>,
    {
        let _writer = self.writer().await;
        query.fetch_optional(&self.pool).await
    }

    /// A fresh series of attempts at one write transaction.
    pub(crate) fn transactions(&self) -> Transactions<'_> {
        Transactions {
            store: self,
            attempt: 0,
        }
    }

    async fn writer(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.writer {
            Some(lock) => Some(Arc::clone(lock).lock_owned().await),
            None => None,
        }
    }
}

/// The attempts at one write transaction (see the module documentation).
pub(crate) struct Transactions<'p> {
    store: &'p StorePool,
    attempt: u32,
}

impl Transactions<'_> {
    /// Begins the next attempt, holding the write lock on SQLite until it ends.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when no connection or lock could be had.
    pub(crate) async fn begin(&mut self) -> Result<WriteTx, StoreError> {
        self.attempt += 1;
        let writer = self.store.writer().await;
        let begin = match self.store.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN ISOLATION LEVEL READ COMMITTED",
        };
        let tx = self
            .store
            .pool
            .begin_with(begin)
            .await
            .map_err(StoreError::from_sqlx)?;
        Ok(WriteTx {
            tx,
            _writer: writer,
        })
    }

    /// Ends an attempt: commits on success and returns the value; rolls back on failure and
    /// returns `None` when the failure is transient and attempts are left (call
    /// [`Transactions::begin`] again), else the failure.
    ///
    /// # Errors
    /// The statement's or the commit's failure, classified by [`StoreError::from_sqlx`].
    pub(crate) async fn settle<T>(
        &mut self,
        tx: WriteTx,
        outcome: Result<T, sqlx::Error>,
    ) -> Result<Option<T>, StoreError> {
        let err = match outcome {
            Ok(value) => match tx.tx.commit().await {
                Ok(()) => return Ok(Some(value)),
                Err(err) => err,
            },
            Err(err) => {
                // Rolled back here (not on drop) so the lock is free before the pause.
                let _ = tx.tx.rollback().await;
                err
            }
        };
        if self.attempt < ATTEMPTS && is_transient(&err) {
            tracing::warn!(
                attempt = self.attempt,
                "write transaction conflicted; retrying"
            );
            tokio::time::sleep(pause(self.attempt)).await;
            return Ok(None);
        }
        Err(StoreError::from_sqlx(err))
    }
}

/// One attempt's transaction (a connection of the pool) and, on SQLite, the write lock.
pub(crate) struct WriteTx {
    tx: Transaction<'static, Any>,
    _writer: Option<OwnedMutexGuard<()>>,
}

impl Deref for WriteTx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// Whether a failure may pass when the same transaction is tried again: a PostgreSQL
/// serialisation failure or deadlock, or SQLite's busy/locked (another process held the file
/// past the busy timeout).
fn is_transient(err: &sqlx::Error) -> bool {
    let Some(db) = err.as_database_error() else {
        return false;
    };
    matches!(
        db.code().as_deref(),
        Some("40001" | "40P01" | "5" | "6" | "261" | "262" | "517")
    )
}

/// A short random pause that grows with the attempt, so twins do not collide again in step.
fn pause(attempt: u32) -> Duration {
    let jitter = u64::from(rand::random::<u8>() % 10);
    Duration::from_millis(u64::from(attempt) * 5 + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_with_the_attempt_and_stay_short() {
        for attempt in 1..=ATTEMPTS {
            let p = pause(attempt);
            assert!(p >= Duration::from_millis(u64::from(attempt) * 5));
            assert!(p < Duration::from_millis(u64::from(attempt) * 5 + 10));
        }
    }

    #[test]
    fn only_driver_failures_of_a_conflict_are_transient() {
        assert!(!is_transient(&sqlx::Error::PoolTimedOut));
        assert!(!is_transient(&sqlx::Error::RowNotFound));
    }
}
