//! The two stores behind the origin: the directory (ids, orders, hubs, audit) and the
//! vault (sealed personal data). Each has its own pool, its own credentials and its own
//! migrations, per backend. The vault may have a streaming standby ([`failover`]); while no
//! vault server takes writes, records wait in the directory's temporary table ([`sealed`]).
//!
//! Both backends go through `sqlx::Any` with `$n` placeholders, which SQLite and
//! PostgreSQL both accept; only the migrations differ. Columns use the types `Any`
//! carries on both (`TEXT`, `BIGINT`, bytes), with times as unix milliseconds.
//! `sqlx::Error` never leaves this module: it is logged here (without values) and turned
//! into a [`StoreError`].

mod directory;
pub mod failover;
mod numbers;
mod pool;
pub mod rewrap;
pub mod sealed;
mod vault;

use std::str::FromStr;
use std::sync::atomic::AtomicI64;
use std::sync::{Arc, Once};
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::AnyPool;

pub use directory::{
    AuditChain, AuditRow, BuyerRow, CarrierRow, ChainRecord, Directory, EntryRow, FeeTableRow,
    HubRow, NewBuyer, NewOrder, OrderFeeRow, OrderRow, PendingSummary, Recorded, RefusalRow,
    ReleaseRow, RotationRow, ScannerRow, SellerRow, SellerShipping, KIND_REFUSAL, KIND_RELEASE,
    PURPOSE_DELIVERY,
};
use failover::VaultSwitch;
use pool::StorePool;
pub use sealed::{FlushReport, NewAddress, NewContact, NewEntry};
pub use vault::{ByIdKind, SealedRecord, Vault};

static DIRECTORY_SQLITE: Migrator = sqlx::migrate!("migrations/directory/sqlite");
static DIRECTORY_POSTGRES: Migrator = sqlx::migrate!("migrations/directory/postgres");
static VAULT_SQLITE: Migrator = sqlx::migrate!("migrations/vault/sqlite");
static VAULT_POSTGRES: Migrator = sqlx::migrate!("migrations/vault/postgres");

/// Why a store call failed. Deliberately coarse: callers decide on these, never on SQL.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key already exists (mapped from the driver's unique violation).
    #[error("the record already exists")]
    Conflict,
    /// The database could not be reached or refused the statement.
    #[error("the store is unavailable")]
    Unavailable,
    /// A stored value could not be read back (a bug or tampering, never user input).
    #[error("a stored record is unreadable")]
    Corrupt,
}

impl StoreError {
    /// Classifies a driver error, logging what kind it was but never the statement's values.
    pub(crate) fn from_sqlx(err: sqlx::Error) -> Self {
        if let Some(db) = err.as_database_error() {
            if db.is_unique_violation() {
                return Self::Conflict;
            }
            // The driver's message names constraints and tables, never bound values.
            tracing::error!(code = ?db.code(), message = %db.message(), "database refused a statement");
            return Self::Unavailable;
        }
        match err {
            sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::ColumnNotFound(_) => {
                tracing::error!(error = %err, "stored value could not be decoded");
                Self::Corrupt
            }
            other => {
                tracing::error!(error = %other, "store unavailable");
                Self::Unavailable
            }
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        Self::from_sqlx(err)
    }
}

/// Which database engine a URL points at; migrations differ per engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file (created if missing, WAL journal).
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

impl Backend {
    /// Recognises the backend from a connection URL's scheme.
    ///
    /// # Errors
    /// [`UnsupportedUrl`] for any other scheme.
    pub fn of_url(url: &str) -> Result<Self, UnsupportedUrl> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(UnsupportedUrl)
        }
    }
}

/// A database URL with neither `sqlite:` nor `postgres://`. Never echoes the URL, which may hold a password.
#[derive(Debug, thiserror::Error)]
#[error("a database URL must start with sqlite: or postgres://")]
pub struct UnsupportedUrl;

/// Opening a store failed.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The URL names no supported backend.
    #[error(transparent)]
    Url(#[from] UnsupportedUrl),
    /// Connecting failed (the message has no credentials: sqlx does not print URLs).
    #[error("could not connect to the {store} store: {source}")]
    Connect {
        /// `directory` or `vault`.
        store: &'static str,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// Running migrations failed.
    #[error("could not migrate the {store} store: {source}")]
    Migrate {
        /// `directory` or `vault`.
        store: &'static str,
        /// The migrator's error.
        source: sqlx::migrate::MigrateError,
    },
}

/// Both stores, opened and migrated.
#[derive(Clone)]
pub struct Stores {
    /// Ids, orders, hubs, scanners, releases and their audit; and the temporary table.
    pub directory: Directory,
    /// Sealed address and contact records, on the primary or its standby.
    pub vault: Vault,
    /// Records known to wait in the temporary table (its depth at the last flush, plus those
    /// queued since); while zero, registrations skip looking there.
    pending_hint: Arc<AtomicI64>,
}

impl Stores {
    /// Connects to both stores and brings their schemas up to date; fails when either cannot
    /// be reached (for `provision`, which must migrate both).
    ///
    /// # Errors
    /// [`OpenError`] when a URL is unsupported, a connection fails or a migration fails.
    pub async fn open(directory_url: &str, vault_url: &str) -> Result<Self, OpenError> {
        let stores = Self::connect(directory_url, vault_url, None).await?;
        stores.vault.switch().open_primary().await?;
        stores.vault.switch().refresh().await;
        Ok(stores)
    }

    /// Connects to the directory (which must answer) and the vault's servers, for serving:
    /// a vault that does not answer yet is not an error — registrations then wait in the
    /// temporary table, and the vault is migrated once it takes writes.
    ///
    /// # Errors
    /// [`OpenError`] when a URL is unsupported or the directory cannot be opened or migrated.
    pub async fn open_serving(
        directory_url: &str,
        vault_url: &str,
        vault_standby_url: Option<&str>,
    ) -> Result<Self, OpenError> {
        let stores = Self::connect(directory_url, vault_url, vault_standby_url).await?;
        let route = stores.vault.switch().refresh().await;
        if route.writer.is_none() {
            tracing::warn!(
                "no vault server takes writes at startup; registrations wait in the temporary table"
            );
        }
        let summary = stores
            .directory
            .pending_summary()
            .await
            .map_err(|_| OpenError::Connect {
                store: "directory",
                source: sqlx::Error::Protocol("the temporary table could not be read".into()),
            })?;
        stores
            .pending_hint
            .store(summary.depth, std::sync::atomic::Ordering::SeqCst);
        Ok(stores)
    }

    async fn connect(
        directory_url: &str,
        vault_url: &str,
        vault_standby_url: Option<&str>,
    ) -> Result<Self, OpenError> {
        let directory = open_pool(
            "directory",
            directory_url,
            &DIRECTORY_SQLITE,
            &DIRECTORY_POSTGRES,
        )
        .await?;
        install_drivers();
        let switch = VaultSwitch::new(vault_url, vault_standby_url)?;
        Ok(Self {
            directory: Directory::new(directory),
            vault: Vault::new(switch),
            pending_hint: Arc::new(AtomicI64::new(0)),
        })
    }

    /// Whether the origin can serve: the directory answers (the vault may be out; its records
    /// then wait in the temporary table).
    pub async fn healthy(&self) -> bool {
        answers(self.directory.pool()).await
    }

    /// Whether the directory answers, and the vault's route as last probed.
    pub async fn probe(&self) -> StoreProbe {
        let route = self.vault.switch().route();
        StoreProbe {
            directory: answers(self.directory.pool()).await,
            vault: route.writer.is_some(),
            route,
        }
    }
}

/// Opens and migrates the directory alone (for `audit`, which needs nothing of the vault).
///
/// # Errors
/// [`OpenError`] when the URL is unsupported, the connection or a migration fails.
pub async fn open_directory(url: &str) -> Result<Directory, OpenError> {
    let pool = open_pool("directory", url, &DIRECTORY_SQLITE, &DIRECTORY_POSTGRES).await?;
    Ok(Directory::new(pool))
}

/// What [`Stores::probe`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreProbe {
    /// The directory answered.
    pub directory: bool,
    /// A vault server takes writes.
    pub vault: bool,
    /// The vault's servers and where reads and writes go.
    pub route: failover::Route,
}

/// A driver result as a store result; every statement of both stores goes through it, so
/// `sqlx::Error` is classified (and logged without values) in one place.
fn db<T>(result: Result<T, sqlx::Error>) -> Result<T, StoreError> {
    result.map_err(StoreError::from_sqlx)
}

fn install_drivers() {
    static DRIVERS: Once = Once::new();
    DRIVERS.call_once(sqlx::any::install_default_drivers);
}

/// Whether a pool answers a trivial query.
async fn answers(pool: &AnyPool) -> bool {
    sqlx::query("SELECT 1").execute(pool).await.is_ok()
}

/// SQLite connections that overwrite deleted and replaced content with zeros
/// (`secure_delete`), so a record re-sealed by `keys rewrap`, a number rotated away or a flushed
/// temporary row leaves no old ciphertext in the file's free space.
pub(crate) fn zeroing_deletes(options: AnyPoolOptions) -> AnyPoolOptions {
    options.after_connect(|connection, _| {
        Box::pin(async move {
            sqlx::query("PRAGMA secure_delete = ON")
                .execute(connection)
                .await
                .map(drop)
        })
    })
}

async fn open_pool(
    store: &'static str,
    url: &str,
    sqlite: &Migrator,
    postgres: &Migrator,
) -> Result<StorePool, OpenError> {
    install_drivers();
    let backend = Backend::of_url(url)?;
    let url = match backend {
        Backend::Sqlite if !url.contains("mode=") => {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        }
        _ => url.to_owned(),
    };
    let options =
        AnyConnectOptions::from_str(&url).map_err(|source| OpenError::Connect { store, source })?;
    let pool_options = AnyPoolOptions::new();
    let pool_options = if backend == Backend::Sqlite {
        zeroing_deletes(pool_options)
    } else {
        pool_options
    };
    let pool = pool_options
        .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(|source| OpenError::Connect { store, source })?;
    if backend == Backend::Sqlite {
        // WAL is a property of the file, so setting it once makes every later
        // connection use it; readers then never block the single writer.
        sqlx::query("PRAGMA journal_mode=WAL")
            .execute(&pool)
            .await
            .map_err(|source| OpenError::Connect { store, source })?;
    }
    let migrator = match backend {
        Backend::Sqlite => sqlite,
        Backend::Postgres => postgres,
    };
    migrator
        .run(&pool)
        .await
        .map_err(|source| OpenError::Migrate { store, source })?;
    Ok(StorePool::new(pool, backend))
}
