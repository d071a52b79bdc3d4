//! Command line, environment and configuration file:
//! `lasthop-origin serve | keygen | edge-secrets | provision | audit`.
//!
//! `serve` reads its settings from three layers: flags and `LASTHOP_*` environment variables
//! (clap: a flag beats its variable) override the TOML file named by `--config`
//! (`LASTHOP_CONFIG`), which overrides the defaults. The file holds no secret values: the
//! master keys and the ops token come from files it may *name* (`master_keys_file`,
//! `ops_token_file`) or from the environment, and a database URL in the file must carry no
//! password (use `directory_url_file`, the environment, or a PostgreSQL password file).
//! Secret values are [`SecretString`]s: zeroized on drop, `[REDACTED]` in `Debug`, hidden
//! from `--help`.
//!
//! # Adding a `serve` setting
//! Add an `Option` field to [`ServeOptions`] with `#[arg(long, env = "LASTHOP_…")]` (it is then
//! also a key of the file, unless marked `#[serde(skip)]`), name it in
//! [`ServeOptions::overlay`] (the destructuring there refuses to compile until you do), and give
//! it its default in [`Settings::from_args`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
pub use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The origin vault of lasthop.
#[derive(Debug, Parser)]
#[command(name = "lasthop-origin", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API.
    Serve(Box<ServeArgs>),
    /// Write `master.keys` and `ops.token` into a folder, keeping any that exist.
    Keygen(KeygenArgs),
    /// Print the `LASTHOP_EDGE_SECRETS=…` line for the Worker (`.dev.vars` or `wrangler secret put`).
    EdgeSecrets(MasterKeyArgs),
    /// Create (or bring back into shape) the PostgreSQL roles and databases of both stores,
    /// with the least privilege each needs, and migrate each store as its role.
    Provision(ProvisionArgs),
    /// Check the tamper-evident audit, export it signed for an auditor, check an export.
    Audit(AuditArgs),
    /// Rotate the master keys, re-seal records under the current version, retire an old one.
    Keys(KeysArgs),
}

/// `keys` and its subcommands.
#[derive(Debug, Args)]
pub struct KeysArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: KeysCommand,
}

/// `keys` subcommands. Each takes the store and key settings as for `serve` (`--config`).
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a master key version to the key file and make it current (the file is replaced
    /// atomically, mode 0600); then restart the origin and give the edge its new secrets.
    Rotate(Box<ServeArgs>),
    /// Re-seal every record not yet under the current version, in batches; safe to stop and
    /// run again. Prints records/s at the end.
    Rewrap(Box<RewrapArgs>),
    /// Remove an old version from the key file; refuses (exit status 3), naming what still
    /// needs it.
    Retire(Box<RetireArgs>),
}

/// `keys rewrap` flags.
#[derive(Debug, Clone, Args)]
pub struct RewrapArgs {
    /// Rows re-sealed per transaction.
    #[arg(long, default_value_t = 500)]
    pub batch_size: i64,
    /// Store and key settings, as for `serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// `keys retire` flags.
#[derive(Debug, Clone, Args)]
pub struct RetireArgs {
    /// The version to remove (e.g. `1`).
    pub version: u32,
    /// Retire even though sessions or scanner credentials signed under it may still be valid:
    /// they stop working (buyers and sellers sign in again, scanners get new credentials).
    #[arg(long)]
    pub end_credentials: bool,
    /// Store and key settings, as for `serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// `audit` and its subcommands.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AuditCommand,
}

/// `audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit's hash chain in the directory (store settings as for `serve`); names
    /// the first edited row or the gap of deleted rows, and exits with 1 if there is one.
    Verify(Box<ServeArgs>),
    /// Check the chain, then write every row and its signed head to a file for an auditor
    /// (store settings and master keys as for `serve`).
    Export(Box<AuditExportArgs>),
    /// Check an export file: its signature and its chain, from the first row to the head.
    CheckExport(CheckExportArgs),
    /// Print the key id and public key that sign exports (for auditors to pin).
    PublicKey(MasterKeyArgs),
}

/// `audit export` flags.
#[derive(Debug, Clone, Args)]
pub struct AuditExportArgs {
    /// The file to write (replaced).
    #[arg(long)]
    pub out: PathBuf,
    /// Store and key settings, as for `serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// `audit check-export` flags.
#[derive(Debug, Clone, Args)]
pub struct CheckExportArgs {
    /// The export file.
    pub file: PathBuf,
    /// The public key the export must be signed with (base64url, from `audit public-key`).
    #[arg(long)]
    pub public_key: Option<String>,
    /// An earlier export of the same audit, which this one must extend unchanged.
    #[arg(long)]
    pub previous: Option<PathBuf>,
    /// The public key the earlier export must be signed with, when a key rotation came
    /// between the two (default: `--public-key`).
    #[arg(long, requires = "previous")]
    pub previous_public_key: Option<String>,
}

/// `provision` flags.
#[derive(Debug, Clone, Args)]
pub struct ProvisionArgs {
    /// Admin connection URL (a role with CREATEROLE and CREATEDB), instead of a file.
    #[arg(long, env = "LASTHOP_ADMIN_URL", hide_env_values = true, hide = true, value_parser = secret)]
    pub admin_url: Option<SecretString>,
    /// File holding the admin connection URL.
    #[arg(long, env = "LASTHOP_ADMIN_URL_FILE")]
    pub admin_url_file: Option<PathBuf>,
    /// The directory store's login role.
    #[arg(long, default_value = "lasthop_directory")]
    pub directory_role: String,
    /// The directory store's database.
    #[arg(long, default_value = "lasthop_directory")]
    pub directory_database: String,
    /// The vault store's login role.
    #[arg(long, default_value = "lasthop_vault")]
    pub vault_role: String,
    /// The vault store's database.
    #[arg(long, default_value = "lasthop_vault")]
    pub vault_database: String,
    /// File with the directory role's password; a random one is written there (0600) when
    /// the file is missing.
    #[arg(long)]
    pub directory_password_file: PathBuf,
    /// File with the vault role's password; written like the directory's when missing.
    #[arg(long)]
    pub vault_password_file: PathBuf,
    /// Write a PostgreSQL password file (0600, replaced) with both roles' lines, for the
    /// origin's `PGPASSFILE`.
    #[arg(long)]
    pub pgpass_file: Option<PathBuf>,
}

/// Parses a flag or variable into a secret without keeping a plain copy.
fn secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value))
}

/// Where the master key ring comes from.
#[derive(Debug, Clone, Default, Args)]
pub struct MasterKeyArgs {
    /// File of `<version>:<base64 of 32 bytes>` lines; the highest version is current.
    #[arg(long, env = "LASTHOP_MASTER_KEYS_FILE")]
    pub master_keys_file: Option<PathBuf>,
    /// The key ring itself (lines separated by newlines or spaces), instead of a file.
    #[arg(long, env = "LASTHOP_MASTER_KEYS", hide_env_values = true, hide = true, value_parser = secret)]
    pub master_keys: Option<SecretString>,
}

impl MasterKeyArgs {
    /// The key ring text, from the file or the variable.
    ///
    /// # Errors
    /// When neither is given or the file cannot be read.
    pub fn load(&self) -> anyhow::Result<SecretString> {
        let text = load_secret(
            self.master_keys_file.as_deref(),
            self.master_keys.as_ref(),
            "master keys",
        )?;
        // One key per line; an environment variable may carry them space-separated.
        Ok(SecretString::from(
            text.expose_secret()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join("\n"),
        ))
    }
}

/// `serve` flags: the configuration file and the settings that override it.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// TOML file with any of the settings below (flags and environment override it).
    #[arg(long, env = "LASTHOP_CONFIG")]
    pub config: Option<PathBuf>,
    /// The settings.
    #[command(flatten)]
    pub options: ServeOptions,
}

impl ServeArgs {
    /// The options given on the command line and in the environment, over the file's.
    ///
    /// # Errors
    /// When the configuration file is unreadable or invalid.
    pub fn resolved_options(&self) -> anyhow::Result<ServeOptions> {
        let file = match &self.config {
            Some(path) => ServeOptions::from_file(path)?,
            None => ServeOptions::default(),
        };
        Ok(self.options.clone().overlay(file))
    }

    /// The directory store's URL, as `serve` resolves it.
    ///
    /// # Errors
    /// When the configuration file or the URL's file is unreadable.
    pub fn directory_url(&self) -> anyhow::Result<SecretString> {
        let options = self.resolved_options()?;
        store_url(
            options.directory_url.as_ref(),
            options.directory_url_file.as_deref(),
            "directory URL",
            DEFAULT_DIRECTORY_URL,
        )
    }

    /// The master key ring text, as `serve` resolves it.
    ///
    /// # Errors
    /// When none is given or it cannot be read.
    pub fn master_keys(&self) -> anyhow::Result<SecretString> {
        let options = self.resolved_options()?;
        MasterKeyArgs {
            master_keys_file: options.master_keys_file,
            master_keys: options.master_keys,
        }
        .load()
    }
}

const DEFAULT_DIRECTORY_URL: &str = "sqlite://lasthop-directory.db";

/// A store URL from its value or file, or the default when neither is given.
fn store_url(
    url: Option<&SecretString>,
    file: Option<&Path>,
    what: &str,
    default: &str,
) -> anyhow::Result<SecretString> {
    if url.is_none() && file.is_none() {
        Ok(SecretString::from(default))
    } else {
        load_secret(file, url, what)
    }
}

/// A period written like `90s`, `15m`, `24h`, `7d` or `1h30m` (whole numbers, each followed by
/// `s`, `m`, `h` or `d`), longer than zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Period(Duration);

impl Period {
    /// The period.
    pub fn duration(self) -> Duration {
        self.0
    }
}

/// Why a period could not be read.
#[derive(Debug, thiserror::Error)]
#[error("a period is written like 90s, 15m, 24h, 7d or 1h30m (got {0:?})")]
pub struct PeriodError(String);

impl std::str::FromStr for Period {
    type Err = PeriodError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || PeriodError(text.to_owned());
        let mut total: u64 = 0;
        let mut digits = String::new();
        for c in text.trim().chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit: u64 = match c {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                _ => return Err(bad()),
            };
            let amount: u64 = digits.parse().map_err(|_| bad())?;
            digits.clear();
            total = amount
                .checked_mul(unit)
                .and_then(|secs| total.checked_add(secs))
                .ok_or_else(bad)?;
        }
        if !digits.is_empty() || total == 0 {
            return Err(bad());
        }
        Ok(Self(Duration::from_secs(total)))
    }
}

impl TryFrom<String> for Period {
    type Error = PeriodError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

/// How the origin writes its log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object a line (the default; for journald, Loki, Elasticsearch …).
    #[default]
    Json,
    /// Human-readable lines, for a terminal.
    Text,
}

/// Every `serve` setting; unset ones fall through to the file, then to the defaults.
/// Field names are the file's keys.
#[derive(Debug, Clone, Default, Args, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeOptions {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "LASTHOP_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory store: `sqlite://path/directory.db` or `postgres://…` (its own role)
    /// [default: sqlite://lasthop-directory.db].
    #[arg(long, env = "LASTHOP_DIRECTORY_URL", hide_env_values = true, value_parser = secret)]
    pub directory_url: Option<SecretString>,
    /// File holding the directory store URL (when it carries a password).
    #[arg(long, env = "LASTHOP_DIRECTORY_URL_FILE")]
    pub directory_url_file: Option<PathBuf>,
    /// Vault store: `sqlite://path/vault.db` or `postgres://…` (its own role)
    /// [default: sqlite://lasthop-vault.db].
    #[arg(long, env = "LASTHOP_VAULT_URL", hide_env_values = true, value_parser = secret)]
    pub vault_url: Option<SecretString>,
    /// File holding the vault store URL (when it carries a password).
    #[arg(long, env = "LASTHOP_VAULT_URL_FILE")]
    pub vault_url_file: Option<PathBuf>,
    /// The vault's streaming standby (`postgres://…`, the vault role): reads are served from
    /// it while the primary does not answer, and it is written to once it has been promoted.
    #[arg(long, env = "LASTHOP_VAULT_STANDBY_URL", hide_env_values = true, value_parser = secret)]
    pub vault_standby_url: Option<SecretString>,
    /// File holding the standby's URL (when it carries a password).
    #[arg(long, env = "LASTHOP_VAULT_STANDBY_URL_FILE")]
    pub vault_standby_url_file: Option<PathBuf>,
    /// File of master key lines (see `edge-secrets --help`).
    #[arg(long, env = "LASTHOP_MASTER_KEYS_FILE")]
    pub master_keys_file: Option<PathBuf>,
    /// The key ring itself, instead of a file.
    #[arg(long, env = "LASTHOP_MASTER_KEYS", hide_env_values = true, hide = true, value_parser = secret)]
    #[serde(skip)]
    pub master_keys: Option<SecretString>,
    /// File holding the ops token.
    #[arg(long, env = "LASTHOP_OPS_TOKEN_FILE")]
    pub ops_token_file: Option<PathBuf>,
    /// The ops token itself, instead of a file.
    #[arg(long, env = "LASTHOP_OPS_TOKEN", hide_env_values = true, hide = true, value_parser = secret)]
    #[serde(skip)]
    pub ops_token: Option<SecretString>,
    /// Base URL of the edge, for pushing scanner revocations (without it they queue up).
    #[arg(long, env = "LASTHOP_EDGE_URL")]
    pub edge_url: Option<String>,
    /// Comma-separated platform slugs this origin serves [default: demo].
    #[arg(long, env = "LASTHOP_PLATFORMS", value_delimiter = ',')]
    pub platforms: Option<Vec<String>>,
    /// Seconds a terminal may keep a released recipient [default: 86400].
    #[arg(long, env = "LASTHOP_RELEASE_TTL_SECS")]
    pub release_ttl_secs: Option<u64>,
    /// Days a credential of a scanner without a device stays valid [default: 30].
    #[arg(long, env = "LASTHOP_SCANNER_TTL_DAYS")]
    pub scanner_ttl_days: Option<u64>,
    /// Seconds a device-bound scanner credential lives (one shift; the device renews it, which
    /// a revoked scanner cannot): the longest a revoked scanner keeps working at an edge that
    /// no revocation push reached [default: 43200].
    #[arg(long = "scanner-ttl", env = "LASTHOP_SCANNER_TTL_SECS")]
    pub scanner_ttl: Option<u64>,
    /// Releases a scanner may ask for a minute, with the same burst [default: 60].
    #[arg(long, env = "LASTHOP_RELEASE_RATE_PER_MINUTE")]
    pub release_rate_per_minute: Option<u32>,
    /// LEGACY, INSECURE: answer the recipient in plaintext to scanners enrolled without a
    /// device, on the final hub check alone (no chain of custody). Off unless set.
    #[arg(long, env = "LASTHOP_LEGACY_PLAINTEXT_RECIPIENTS", num_args = 0..=1, default_missing_value = "true")]
    pub legacy_plaintext_recipients: Option<bool>,
    /// PEM file of a CA certificate to trust for the edge URL, besides the system's roots (an
    /// edge with a private certificate).
    #[arg(long, env = "LASTHOP_EDGE_CA_FILE")]
    pub edge_ca_file: Option<PathBuf>,
    /// Log format [default: json].
    #[arg(long, env = "LASTHOP_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Seconds requests in flight may take to finish after SIGTERM [default: 25].
    #[arg(long, env = "LASTHOP_SHUTDOWN_GRACE_SECS")]
    pub shutdown_grace_secs: Option<u64>,
    /// Give every shared vault record whose number is older than this a new number (e.g.
    /// `24h`, `90s`), in a background job [default: never].
    #[arg(long, env = "LASTHOP_ROTATE_NUMBERS_EVERY")]
    pub rotate_numbers_every: Option<Period>,
}

impl ServeOptions {
    /// These options, with every unset one taken from `lower` (the file).
    #[must_use]
    pub fn overlay(self, lower: Self) -> Self {
        // Destructured without `..`, so a new field cannot be forgotten here.
        let Self {
            listen,
            directory_url,
            directory_url_file,
            vault_url,
            vault_url_file,
            vault_standby_url,
            vault_standby_url_file,
            master_keys_file,
            master_keys,
            ops_token_file,
            ops_token,
            edge_url,
            platforms,
            release_ttl_secs,
            scanner_ttl_days,
            scanner_ttl,
            release_rate_per_minute,
            legacy_plaintext_recipients,
            edge_ca_file,
            log_format,
            shutdown_grace_secs,
            rotate_numbers_every,
        } = lower;
        // A source given above hides both forms of it below: a flag's URL must not lose to
        // the file's `directory_url_file`.
        let (directory_url, directory_url_file) = either_form(
            (self.directory_url, self.directory_url_file),
            (directory_url, directory_url_file),
        );
        let (vault_url, vault_url_file) = either_form(
            (self.vault_url, self.vault_url_file),
            (vault_url, vault_url_file),
        );
        let (vault_standby_url, vault_standby_url_file) = either_form(
            (self.vault_standby_url, self.vault_standby_url_file),
            (vault_standby_url, vault_standby_url_file),
        );
        let (master_keys, master_keys_file) = either_form(
            (self.master_keys, self.master_keys_file),
            (master_keys, master_keys_file),
        );
        let (ops_token, ops_token_file) = either_form(
            (self.ops_token, self.ops_token_file),
            (ops_token, ops_token_file),
        );
        Self {
            listen: self.listen.or(listen),
            directory_url,
            directory_url_file,
            vault_url,
            vault_url_file,
            vault_standby_url,
            vault_standby_url_file,
            master_keys_file,
            master_keys,
            ops_token_file,
            ops_token,
            edge_url: self.edge_url.or(edge_url),
            platforms: self.platforms.or(platforms),
            release_ttl_secs: self.release_ttl_secs.or(release_ttl_secs),
            scanner_ttl_days: self.scanner_ttl_days.or(scanner_ttl_days),
            scanner_ttl: self.scanner_ttl.or(scanner_ttl),
            release_rate_per_minute: self.release_rate_per_minute.or(release_rate_per_minute),
            legacy_plaintext_recipients: self
                .legacy_plaintext_recipients
                .or(legacy_plaintext_recipients),
            edge_ca_file: self.edge_ca_file.or(edge_ca_file),
            log_format: self.log_format.or(log_format),
            shutdown_grace_secs: self.shutdown_grace_secs.or(shutdown_grace_secs),
            rotate_numbers_every: self.rotate_numbers_every.or(rotate_numbers_every),
        }
    }

    /// Reads a configuration file.
    ///
    /// # Errors
    /// When it cannot be read, is not valid TOML, has an unknown key, or names a database URL
    /// with a password in it (secrets never live in the file).
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the configuration file {}", path.display()))?;
        // toml's message quotes the offending line, which for a file of non-secrets is safe.
        let options: Self = toml::from_str(&text)
            .with_context(|| format!("parsing the configuration file {}", path.display()))?;
        for (key, url) in [
            ("directory_url", &options.directory_url),
            ("vault_url", &options.vault_url),
            ("vault_standby_url", &options.vault_standby_url),
        ] {
            if url
                .as_ref()
                .is_some_and(|u| has_password(u.expose_secret()))
            {
                anyhow::bail!(
                    "{key} in {} carries a password; keep secrets out of the configuration \
                     file (use {key}_file, the environment, or a PostgreSQL password file)",
                    path.display()
                );
            }
        }
        Ok(options)
    }
}

/// A value given either inline or as a file: the upper layer's pair when it has either form.
fn either_form<T>(
    upper: (Option<T>, Option<PathBuf>),
    lower: (Option<T>, Option<PathBuf>),
) -> (Option<T>, Option<PathBuf>) {
    if upper.0.is_some() || upper.1.is_some() {
        upper
    } else {
        lower
    }
}

/// Whether a database URL carries a password (`scheme://user:password@host`).
fn has_password(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| u.password().is_some())
}

/// `keygen` flags.
#[derive(Debug, Clone, Args)]
pub struct KeygenArgs {
    /// Folder to write `master.keys` and `ops.token` into (created if missing).
    #[arg(long)]
    pub dir: PathBuf,
}

/// A secret from its file (trimmed) or, failing that, from its value.
///
/// # Errors
/// When neither is given or the file cannot be read.
pub fn load_secret(
    file: Option<&Path>,
    value: Option<&SecretString>,
    what: &str,
) -> anyhow::Result<SecretString> {
    match (file, value) {
        (Some(path), _) => {
            let text = zeroize::Zeroizing::new(
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading the {what} file {}", path.display()))?,
            );
            Ok(SecretString::from(text.trim()))
        }
        (None, Some(value)) => Ok(SecretString::from(value.expose_secret().trim())),
        (None, None) => {
            anyhow::bail!("no {what} given: pass a file flag or set the environment variable")
        }
    }
}

/// Everything the application needs, parsed and ready.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where to listen (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Directory store URL.
    pub directory_url: SecretString,
    /// Vault store URL.
    pub vault_url: SecretString,
    /// The vault's streaming standby, if there is one.
    pub vault_standby_url: Option<SecretString>,
    /// How often the temporary table is flushed into the vault while it holds records.
    pub flush_interval: Duration,
    /// Master key ring text.
    pub master_keys: SecretString,
    /// Ops bearer token.
    pub ops_token: SecretString,
    /// Edge base URL for revocation pushes.
    pub edge_url: Option<String>,
    /// Platform slugs served.
    pub platforms: Vec<String>,
    /// How long a terminal may keep a released recipient.
    pub release_ttl: Duration,
    /// How long a credential of a scanner without a device stays valid.
    pub scanner_ttl: Duration,
    /// How long a device-bound scanner credential lives (one shift).
    pub device_scanner_ttl: Duration,
    /// Releases a scanner may ask for a minute (and burst).
    pub release_rate_per_minute: u32,
    /// Plaintext recipients for scanners without a device (legacy, insecure; off by default).
    pub legacy_plaintext_recipients: bool,
    /// A CA certificate (PEM file) to trust for the edge URL.
    pub edge_ca_file: Option<PathBuf>,
    /// How often the revocation outbox is retried.
    pub outbox_interval: Duration,
    /// How long requests in flight may take to finish once shutdown starts.
    pub shutdown_grace: Duration,
    /// How the log is written.
    pub log_format: LogFormat,
    /// How old a shared record's number may get before the job renumbers it (`None`: never;
    /// interrupted rotations are resumed either way).
    pub rotate_numbers_every: Option<Duration>,
}

impl Settings {
    /// Settings on the given stores and secrets, with every other setting at its default
    /// (tests and benches adjust fields with struct update syntax).
    pub fn new(
        directory_url: impl Into<String>,
        vault_url: impl Into<String>,
        master_keys: impl Into<String>,
        ops_token: impl Into<String>,
    ) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            directory_url: SecretString::from(directory_url.into()),
            vault_url: SecretString::from(vault_url.into()),
            vault_standby_url: None,
            flush_interval: Duration::from_secs(1),
            master_keys: SecretString::from(master_keys.into()),
            ops_token: SecretString::from(ops_token.into()),
            edge_url: None,
            platforms: vec!["demo".to_owned()],
            release_ttl: Duration::from_secs(86_400),
            scanner_ttl: Duration::from_secs(30 * 86_400),
            device_scanner_ttl: Duration::from_secs(12 * 3600),
            release_rate_per_minute: 60,
            legacy_plaintext_recipients: false,
            edge_ca_file: None,
            outbox_interval: Duration::from_secs(2),
            shutdown_grace: Duration::from_secs(25),
            log_format: LogFormat::Json,
            rotate_numbers_every: None,
        }
    }

    /// Builds settings from `serve` flags and environment over the configuration file over
    /// the defaults, reading secret files.
    ///
    /// # Errors
    /// When the file is unreadable or invalid, or a secret is missing or unreadable.
    pub fn from_args(args: &ServeArgs) -> anyhow::Result<Self> {
        let options = args.resolved_options()?;
        let master_keys = MasterKeyArgs {
            master_keys_file: options.master_keys_file,
            master_keys: options.master_keys,
        }
        .load()?;
        let ops_token = load_secret(
            options.ops_token_file.as_deref(),
            options.ops_token.as_ref(),
            "ops token",
        )?;
        let defaults = Self::new("", "", "", "");
        Ok(Self {
            listen: options.listen.unwrap_or(defaults.listen),
            directory_url: store_url(
                options.directory_url.as_ref(),
                options.directory_url_file.as_deref(),
                "directory URL",
                DEFAULT_DIRECTORY_URL,
            )?,
            vault_url: store_url(
                options.vault_url.as_ref(),
                options.vault_url_file.as_deref(),
                "vault URL",
                "sqlite://lasthop-vault.db",
            )?,
            vault_standby_url: match (
                options.vault_standby_url.as_ref(),
                options.vault_standby_url_file.as_deref(),
            ) {
                (None, None) => None,
                (url, file) => Some(load_secret(file, url, "vault standby URL")?),
            },
            master_keys,
            ops_token,
            edge_url: options.edge_url,
            platforms: options.platforms.unwrap_or(defaults.platforms),
            release_ttl: options
                .release_ttl_secs
                .map_or(defaults.release_ttl, Duration::from_secs),
            scanner_ttl: options
                .scanner_ttl_days
                .map_or(defaults.scanner_ttl, |days| {
                    Duration::from_secs(days.saturating_mul(86_400))
                }),
            device_scanner_ttl: options
                .scanner_ttl
                .map_or(defaults.device_scanner_ttl, Duration::from_secs),
            release_rate_per_minute: options
                .release_rate_per_minute
                .filter(|rate| *rate > 0)
                .unwrap_or(defaults.release_rate_per_minute),
            legacy_plaintext_recipients: options.legacy_plaintext_recipients.unwrap_or(false),
            edge_ca_file: options.edge_ca_file,
            shutdown_grace: options
                .shutdown_grace_secs
                .map_or(defaults.shutdown_grace, Duration::from_secs),
            log_format: options.log_format.unwrap_or(defaults.log_format),
            rotate_numbers_every: options.rotate_numbers_every.map(Period::duration),
            ..defaults
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> ServeArgs {
        let cli = Cli::parse_from(["lasthop-origin", "serve"].iter().chain(args));
        let Command::Serve(args) = cli.command else {
            panic!("expected serve")
        };
        *args
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let args = serve(&[
            "--directory-url",
            "postgres://dir:hunter2@localhost/d",
            "--master-keys",
            "1:c2VjcmV0",
            "--ops-token",
            "ops-secret-value",
        ]);
        let settings = Settings::from_args(&args).unwrap();
        let printed = format!("{settings:?} {args:?}");
        for secret in ["hunter2", "c2VjcmV0", "ops-secret-value"] {
            assert!(!printed.contains(secret), "{secret} leaked: {printed}");
        }
        assert_eq!(settings.platforms, vec!["demo".to_owned()]);
        assert_eq!(settings.log_format, LogFormat::Json);
    }

    #[test]
    fn serve_without_master_keys_is_an_error() {
        let args = serve(&["--ops-token", "t"]);
        if std::env::var_os("LASTHOP_MASTER_KEYS").is_none()
            && std::env::var_os("LASTHOP_MASTER_KEYS_FILE").is_none()
        {
            assert!(Settings::from_args(&args).is_err());
        }
    }

    #[test]
    fn flags_override_the_file_and_the_file_overrides_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let keys = write(dir.path(), "master.keys", "1:c2VjcmV0\n");
        let token = write(dir.path(), "ops.token", "file-token\n");
        let config = write(
            dir.path(),
            "origin.toml",
            &format!(
                "listen = \"0.0.0.0:9000\"\nplatforms = [\"shop-a\", \"shop-b\"]\n\
                 release_ttl_secs = 60\nmaster_keys_file = \"{}\"\nops_token_file = \"{}\"\n\
                 log_format = \"text\"\nrotate_numbers_every = \"24h\"\n",
                keys.display(),
                token.display()
            ),
        );
        let config = config.to_str().unwrap();
        let from_file = Settings::from_args(&serve(&["--config", config])).unwrap();
        assert_eq!(from_file.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(from_file.platforms, ["shop-a", "shop-b"]);
        assert_eq!(from_file.release_ttl, Duration::from_secs(60));
        assert_eq!(from_file.ops_token.expose_secret(), "file-token");
        assert_eq!(from_file.master_keys.expose_secret(), "1:c2VjcmV0");
        assert_eq!(from_file.log_format, LogFormat::Text);
        assert_eq!(
            from_file.rotate_numbers_every,
            Some(Duration::from_secs(86_400))
        );
        // Untouched by the file: the default.
        assert_eq!(from_file.scanner_ttl, Duration::from_secs(30 * 86_400));

        let overridden = Settings::from_args(&serve(&[
            "--config",
            config,
            "--listen",
            "127.0.0.1:7000",
            "--ops-token",
            "flag-token",
            "--platforms",
            "shop-c",
            "--rotate-numbers-every",
            "1h30m",
        ]))
        .unwrap();
        assert_eq!(
            overridden.rotate_numbers_every,
            Some(Duration::from_secs(5400))
        );
        assert_eq!(overridden.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(overridden.ops_token.expose_secret(), "flag-token");
        assert_eq!(overridden.platforms, ["shop-c"]);
        assert_eq!(overridden.release_ttl, Duration::from_secs(60));
    }

    #[test]
    fn periods_are_read_like_90s_or_24h_and_anything_else_is_refused() {
        let secs = |text: &str| text.parse::<Period>().map(|p| p.duration().as_secs());
        assert_eq!(secs("90s").unwrap(), 90);
        assert_eq!(secs("15m").unwrap(), 900);
        assert_eq!(secs("24h").unwrap(), 86_400);
        assert_eq!(secs("7d").unwrap(), 604_800);
        assert_eq!(secs("1h30m").unwrap(), 5400);
        for bad in [
            "",
            "0s",
            "90",
            "h",
            "1.5h",
            "-1h",
            "1w",
            "99999999999999999999d",
        ] {
            let err = secs(bad).unwrap_err();
            assert!(err.to_string().contains("90s, 15m, 24h"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_file_with_a_password_in_a_database_url_or_an_unknown_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let leaky = write(
            dir.path(),
            "leaky.toml",
            "directory_url = \"postgres://lasthop_directory:hunter2@db/lasthop_directory\"\n",
        );
        let err = ServeOptions::from_file(&leaky).unwrap_err().to_string();
        assert!(err.contains("carries a password"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");

        let fine = write(
            dir.path(),
            "fine.toml",
            "directory_url = \"postgres://lasthop_directory@db/lasthop_directory\"\n",
        );
        assert!(ServeOptions::from_file(&fine).is_ok());

        for (name, text) in [
            ("inline-token.toml", "ops_token = \"t\"\n"),
            ("inline-keys.toml", "master_keys = \"1:c2VjcmV0\"\n"),
            ("typo.toml", "listne = \"127.0.0.1:1\"\n"),
        ] {
            let path = write(dir.path(), name, text);
            assert!(ServeOptions::from_file(&path).is_err(), "{name} accepted");
        }
    }

    #[test]
    fn a_url_file_is_read_and_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let url = write(dir.path(), "vault.url", "postgres://v:pw@db/vault\n");
        let settings = Settings::from_args(&serve(&[
            "--vault-url-file",
            url.to_str().unwrap(),
            "--master-keys",
            "1:c2VjcmV0",
            "--ops-token",
            "t",
        ]))
        .unwrap();
        assert_eq!(
            settings.vault_url.expose_secret(),
            "postgres://v:pw@db/vault"
        );
    }

    #[test]
    fn the_example_configuration_under_deploy_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/origin.toml");
        let options = ServeOptions::from_file(&path).unwrap();
        assert!(options.master_keys_file.is_some());
        assert!(options.ops_token_file.is_some());
    }
}
