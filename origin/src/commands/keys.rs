//! `lasthop-origin keys rotate | rewrap | retire <version>`: master key rotation as an
//! operator carries it out.
//!
//! - `rotate` adds a master key version to the key file (written to a temporary file, then
//!   renamed over it, mode 0600) and makes it current. Every derived key follows: the origin
//!   and the edge pick the new version up when restarted with it (the edge through its secrets).
//! - `rewrap` re-seals every record sealed under an older version (the vault's records and the
//!   temporary table's, and their blind indexes) under the current one, in batches. Each batch
//!   commits on its own and replaces a row only if it is unchanged, so a kill leaves every row
//!   under its old or its new version (both in the ring) and a rerun continues where it stopped.
//! - `retire <v>` removes version v from the key file, refusing while anything still needs it:
//!   see [`needs`].

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use lasthop_core::keys::{KeyVersion, MasterKeyRing, OriginKeys};
use lasthop_core::time::Timestamp;
use rand::rngs::OsRng;
use zeroize::Zeroizing;

use crate::config::{ExposeSecret as _, ServeArgs, Settings};
use crate::records::AddressPlain;
use crate::store::rewrap::{self, Rewrapped, SealedRow, SealedTable, StoreKind, SEALED_TABLES};
use crate::store::{Backend, StoreError, Stores};

/// How long a buyer's or seller's session lives (see `routes::internal`).
pub const SESSION_LIFETIME: Duration =
    Duration::from_secs(crate::routes::internal::SESSION_DAYS * 86_400);

/// The key file named by the settings (`master_keys_file`), which `rotate` and `retire` rewrite.
///
/// # Errors
/// When the settings name no key file (keys given inline cannot be rewritten).
pub fn key_file(args: &ServeArgs) -> anyhow::Result<PathBuf> {
    args.resolved_options()?.master_keys_file.context(
        "keys rotate and keys retire rewrite the key file: give it with --master-keys-file, \
         LASTHOP_MASTER_KEYS_FILE or master_keys_file in the configuration",
    )
}

fn read_ring(path: &Path) -> anyhow::Result<MasterKeyRing> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
    );
    MasterKeyRing::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Writes the ring over `path` atomically: a temporary file beside it (mode 0600), synced,
/// then renamed over it. A crash leaves the old file or the new one, never a mix.
fn write_ring(path: &Path, ring: &MasterKeyRing) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .context("the key file has no file name")?
        .to_string_lossy();
    let temporary = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let written = (|| -> std::io::Result<()> {
        let mut file = options.open(&temporary)?;
        file.write_all(ring.to_text().as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)?;
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // The rename itself is durable once the folder is synced.
            std::fs::File::open(folder)?.sync_all()?;
        }
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.with_context(|| format!("writing {}", path.display()))
}

/// Adds a new master version to the key file and makes it current; returns it.
///
/// # Errors
/// When the file cannot be read, parsed or written.
pub fn rotate(path: &Path) -> anyhow::Result<KeyVersion> {
    let mut ring = read_ring(path)?;
    let version = ring.rotate(&mut OsRng);
    write_ring(path, &ring)?;
    Ok(version)
}

/// What `rewrap` did.
#[derive(Debug, Clone, PartialEq)]
pub struct RewrapReport {
    /// The version everything is now under.
    pub current: KeyVersion,
    /// Rows re-sealed, per table (`vault.address_records`, …).
    pub tables: Vec<(String, u64)>,
    /// Wall time.
    pub elapsed: Duration,
}

impl RewrapReport {
    /// Rows re-sealed in all.
    pub fn records(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }

    /// Rows per second.
    pub fn per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            self.records() as f64 / seconds
        } else {
            0.0
        }
    }
}

/// A progress bar on stderr, drawn only when stderr is a terminal.
pub fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} records, {per_sec}, eta {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Re-seals every row not yet under the current version, `batch` rows per transaction,
/// advancing `progress` as it goes.
///
/// # Errors
/// When a store fails, or a row does not open under its version (a key missing from the
/// ring, or a tampered row): it is named and nothing after it is touched.
pub async fn rewrap(
    stores: &Stores,
    keys: &OriginKeys,
    batch: i64,
    progress: &ProgressBar,
) -> anyhow::Result<RewrapReport> {
    let started = Instant::now();
    let current = keys.vault.current();
    let mut tables = Vec::new();
    for table in SEALED_TABLES {
        let pool = pool(stores, table)?;
        progress.set_message(table.name());
        let mut done = 0;
        loop {
            let rows = rewrap::stale_batch(&pool, table, current.0, batch.max(1))
                .await
                .with_context(|| format!("reading {}", table.name()))?;
            if rows.is_empty() {
                break;
            }
            let resealed = rows
                .into_iter()
                .map(|row| reseal(keys, table, row))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let replaced = match rewrap::replace(&pool, table, &resealed).await {
                Err(StoreError::Conflict) => {
                    return Err(name_the_collision(&pool, table, &resealed).await)
                }
                other => other.with_context(|| format!("writing {}", table.name()))?,
            };
            if replaced == 0 {
                // Every row of the batch changed since it was read: the serving origin still
                // writes under an older version. It must run with the rotated key file.
                anyhow::bail!(
                    "{} keeps changing under older key versions: restart the origin with the \
                     rotated key file, then run keys rewrap again",
                    table.name()
                );
            }
            done += replaced;
            progress.inc(replaced);
        }
        tables.push((table.name(), done));
    }
    progress.finish_and_clear();
    Ok(RewrapReport {
        current,
        tables,
        elapsed: started.elapsed(),
    })
}

/// A batch whose new blind indexes collided: its rows written one by one, to name the row
/// whose address another number already holds under the current version (the same address
/// stored twice, by two origins with different key rings at one moment).
async fn name_the_collision(
    pool: &sqlx::AnyPool,
    table: &SealedTable,
    rows: &[Rewrapped],
) -> anyhow::Error {
    for row in rows {
        match rewrap::replace(pool, table, std::slice::from_ref(row)).await {
            Ok(_) => {}
            Err(StoreError::Conflict) => {
                return anyhow::anyhow!(
                    "{} {}: its address is stored a second time under another number, indexed \
                     under the current version (registered by two origins with different key \
                     rings at once); merging the two numbers is not automated: until they are \
                     merged, keys rewrap cannot finish",
                    table.name(),
                    row.old.id
                )
            }
            Err(other) => {
                return anyhow::Error::new(other).context(format!("writing {}", table.name()))
            }
        }
    }
    anyhow::anyhow!("writing {}: a blind index collided", table.name())
}

/// How many rows `rewrap` has to re-seal.
///
/// # Errors
/// When a store fails.
pub async fn stale_rows(stores: &Stores, current: KeyVersion) -> anyhow::Result<u64> {
    let mut total = 0;
    for table in SEALED_TABLES {
        let pool = pool(stores, table)?;
        let count = rewrap::stale_count(&pool, table, current.0)
            .await
            .with_context(|| format!("counting {}", table.name()))?;
        total += u64::try_from(count).unwrap_or(0);
    }
    Ok(total)
}

fn pool(stores: &Stores, table: &SealedTable) -> anyhow::Result<sqlx::AnyPool> {
    store_pool(stores, table.store)
}

fn store_pool(stores: &Stores, store: StoreKind) -> anyhow::Result<sqlx::AnyPool> {
    match store {
        StoreKind::Directory => Ok(stores.directory.pool().clone()),
        StoreKind::Vault => stores
            .vault
            .primary_pool()
            .context("the vault's primary does not answer"),
    }
}

/// One row opened under its version and sealed under the current one (same record id in the
/// associated data); an address's blind index is made again from the opened record.
fn reseal(keys: &OriginKeys, table: &SealedTable, row: SealedRow) -> anyhow::Result<Rewrapped> {
    let version = u32::try_from(row.key_version)
        .map(KeyVersion)
        .map_err(|_| anyhow::anyhow!("{} {}: bad key version", table.name(), row.id))?;
    let plain = Zeroizing::new(
        keys.vault
            .open_record(version, &row.id, &row.ciphertext)
            .map_err(|_| {
                anyhow::anyhow!(
                    "{} {} does not open under {version}: is that version still in the key file?",
                    table.name(),
                    row.id
                )
            })?,
    );
    let blind_index = match &row.blind_index {
        None => None,
        Some(_) => {
            let address: AddressPlain = serde_json::from_slice(&plain).map_err(|_| {
                anyhow::anyhow!("{} {} is not an address record", table.name(), row.id)
            })?;
            Some(keys.blind_index.index(&address.normalised_key()))
        }
    };
    let (new_version, ciphertext) = keys.vault.seal_record(&row.id, &plain, &mut OsRng);
    Ok(Rewrapped {
        old: row,
        key_version: i64::from(new_version.0),
        ciphertext,
        blind_index,
    })
}

/// Something that still needs a key version, so it cannot be retired yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// Rows sealed under it.
    Sealed {
        /// `vault.contact_records`, …
        table: String,
        /// How many.
        rows: i64,
    },
    /// Blind indexes made under it.
    BlindIndexes {
        /// The table.
        table: String,
        /// How many.
        rows: i64,
    },
    /// Orders not yet delivered whose tags or sealed route may be under it.
    OpenOrders(i64),
    /// No origin has served with a newer version yet, so it may still sign credentials.
    StillSigning,
    /// Sessions or scanner credentials signed under it may be valid until then.
    Credentials(Timestamp),
}

impl std::fmt::Display for Need {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sealed { table, rows } => write!(
                f,
                "{rows} records in {table} are sealed under it (run keys rewrap)"
            ),
            Self::BlindIndexes { table, rows } => write!(
                f,
                "{rows} blind indexes in {table} are made under it (run keys rewrap)"
            ),
            Self::OpenOrders(n) => write!(
                f,
                "{n} orders not yet delivered were tokenised under it or before (their tags and \
                 sealed routes at the edge need it until delivery)"
            ),
            Self::StillSigning => f.write_str(
                "no origin has served with a newer version yet: restart the origin with the \
                 rotated key file first",
            ),
            Self::Credentials(until) => write!(
                f,
                "sessions and scanner credentials signed under it may be valid until {} (unix \
                 ms; pass --end-credentials to end them now: buyers and sellers sign in again \
                 and scanners get new credentials)",
                until.unix_millis()
            ),
        }
    }
}

/// Everything that still needs `version`, as the stores know it (no key is needed to tell):
/// - rows sealed under it and blind indexes made under it, in every [`SEALED_TABLES`] table;
/// - orders not yet delivered that were tokenised under it or an earlier version (their tags
///   are under their creation version and the edge seals their route under that version or a
///   later one), or from before orders recorded their version;
/// - credentials: nothing is signed under `version` after an origin first served with a newer
///   one (`key_versions`); sessions live [`SESSION_LIFETIME`], scanner credentials until their
///   recorded expiry or one device shift (`device_scanner_ttl`) after that moment. Unless
///   `end_credentials`, those still valid at `now` block it.
///
/// # Errors
/// When a store fails.
pub async fn needs(
    stores: &Stores,
    version: KeyVersion,
    device_scanner_ttl: Duration,
    now: Timestamp,
    end_credentials: bool,
) -> anyhow::Result<Vec<Need>> {
    let mut needs = Vec::new();
    for table in SEALED_TABLES {
        let pool = pool(stores, table)?;
        let (sealed, indexes) = rewrap::needing(&pool, table, version.0)
            .await
            .with_context(|| format!("counting {}", table.name()))?;
        if sealed > 0 {
            needs.push(Need::Sealed {
                table: table.name(),
                rows: sealed,
            });
        }
        if indexes > 0 {
            needs.push(Need::BlindIndexes {
                table: table.name(),
                rows: indexes,
            });
        }
    }
    let directory = &stores.directory;
    let open = directory
        .open_orders_needing_key_version(version.0)
        .await
        .context("counting open orders")?;
    if open > 0 {
        needs.push(Need::OpenOrders(open));
    }
    match directory
        .key_version_superseded_at(version.0)
        .await
        .context("reading key_versions")?
    {
        None => needs.push(Need::StillSigning),
        Some(superseded) => {
            let after = |lifetime: Duration| {
                superseded.saturating_add(i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX))
            };
            let scanners = directory
                .scanner_credentials_issued_before_expire_by(superseded)
                .await
                .context("reading scanners")?;
            let until = [
                Some(after(SESSION_LIFETIME)),
                scanners,
                scanners.map(|_| after(device_scanner_ttl)),
            ]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(superseded);
            if until > now.unix_millis() && !end_credentials {
                needs.push(Need::Credentials(Timestamp::from_unix_millis(until)));
            }
        }
    }
    Ok(needs)
}

/// What `retire` found.
#[derive(Debug)]
pub enum Retired {
    /// Removed from the key file.
    Done,
    /// Refused, with everything that still needs it.
    Refused(Vec<Need>),
}

/// Removes `version` from the key file unless something still needs it ([`needs`]).
///
/// # Errors
/// When it is the current version or not in the file, or a store or the file fails.
pub async fn retire(
    args: &ServeArgs,
    version: KeyVersion,
    end_credentials: bool,
) -> anyhow::Result<Retired> {
    let path = key_file(args)?;
    let mut ring = read_ring(&path)?;
    if version == ring.current() {
        anyhow::bail!(
            "{version} is the current version and is never retired: keys rotate first, restart \
             the origin and the edge, keys rewrap, then retire it"
        );
    }
    if !ring.has_version(version) {
        anyhow::bail!("the key file holds no {version}");
    }
    let settings = Settings::from_args(args)?;
    let stores = open_stores(&settings).await?;
    let needs = needs(
        &stores,
        version,
        settings.device_scanner_ttl,
        crate::state::Clock::default().now(),
        end_credentials,
    )
    .await?;
    if !needs.is_empty() {
        return Ok(Retired::Refused(needs));
    }
    ring.retire(version)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    write_ring(&path, &ring)?;
    Ok(Retired::Done)
}

/// Both stores as `serve` would open them (migrated), for the commands.
///
/// # Errors
/// When a store cannot be opened.
pub async fn open_stores(settings: &Settings) -> anyhow::Result<Stores> {
    Stores::open(
        settings.directory_url.expose_secret(),
        settings.vault_url.expose_secret(),
    )
    .await
    .context("opening the stores")
}

/// `keys rewrap` as the command line gives it: the settings resolved, the stores opened, the
/// bar drawn on stderr.
///
/// # Errors
/// As [`rewrap`].
pub async fn rewrap_command(args: &ServeArgs, batch: i64) -> anyhow::Result<RewrapReport> {
    let settings = Settings::from_args(args)?;
    let ring = MasterKeyRing::parse(settings.master_keys.expose_secret())
        .map_err(|e| anyhow::anyhow!("reading the master key ring: {e}"))?;
    let keys = OriginKeys::derive(&ring);
    let stores = open_stores(&settings).await?;
    let total = stale_rows(&stores, keys.vault.current()).await?;
    let bar = progress_bar(total);
    let report = rewrap(&stores, &keys, batch, &bar).await?;
    for (url, store) in [
        (&settings.directory_url, StoreKind::Directory),
        (&settings.vault_url, StoreKind::Vault),
    ] {
        if Backend::of_url(url.expose_secret()).ok() == Some(Backend::Sqlite) {
            let pool = store_pool(&stores, store)?;
            if !rewrap::checkpoint_sqlite(&pool)
                .await
                .context("checkpointing")?
            {
                tracing::warn!(
                    store = ?store,
                    "the write-ahead log could not be truncated while the origin reads; old page \
                     images in it are overwritten by later writes"
                );
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotating_the_key_file_adds_a_version_atomically_and_keeps_it_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.keys");
        let ring = MasterKeyRing::generate(&mut OsRng);
        std::fs::write(&path, ring.to_text().as_bytes()).unwrap();
        assert_eq!(rotate(&path).unwrap(), KeyVersion(2));
        let rotated = read_ring(&path).unwrap();
        assert_eq!(rotated.current(), KeyVersion(2));
        // Version 1 is kept as it was.
        assert!(rotated
            .to_text()
            .starts_with(ring.to_text().lines().next().unwrap()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Nothing left beside it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(rotate(&dir.path().join("missing.keys")).is_err());
    }

    #[test]
    fn the_refusal_names_what_still_needs_the_version() {
        let text = Need::Sealed {
            table: "vault.contact_records".into(),
            rows: 3,
        }
        .to_string();
        assert!(text.contains("3 records in vault.contact_records") && text.contains("rewrap"));
        assert!(Need::OpenOrders(2)
            .to_string()
            .contains("2 orders not yet delivered"));
        assert!(Need::Credentials(Timestamp::from_unix_millis(5))
            .to_string()
            .contains("--end-credentials"));
    }
}
