//! Command line and environment: `lasthop-origin serve | keygen | edge-secrets`.
//! Every flag has an environment variable; secret values are read from a file or the
//! environment, hidden from `--help`, and never printed by `Debug`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use zeroize::Zeroizing;

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
    /// Print the `LASTHOP_EDGE_SECRETS=…` line for the Worker's `.dev.vars`.
    EdgeSecrets(MasterKeyArgs),
}

/// Where the master key ring comes from.
#[derive(Debug, Clone, Args)]
pub struct MasterKeyArgs {
    /// File of `<version>:<base64 of 32 bytes>` lines; the highest version is current.
    #[arg(long, env = "LASTHOP_MASTER_KEYS_FILE")]
    pub master_keys_file: Option<PathBuf>,
    /// The key ring itself (lines separated by newlines or spaces), instead of a file.
    #[arg(long, env = "LASTHOP_MASTER_KEYS", hide_env_values = true, hide = true)]
    pub master_keys: Option<Secret>,
}

impl MasterKeyArgs {
    /// The key ring text, from the file or the variable.
    ///
    /// # Errors
    /// When neither is given or the file cannot be read.
    pub fn load(&self) -> anyhow::Result<Secret> {
        let text = load_secret(
            self.master_keys_file.as_ref(),
            self.master_keys.as_ref(),
            "master keys",
        )?;
        // One key per line; an environment variable may carry them space-separated.
        Ok(Secret::new(
            text.expose()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join("\n"),
        ))
    }
}

/// `serve` flags.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LASTHOP_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory store: `sqlite://path/directory.db` or `postgres://…` (its own role).
    #[arg(
        long,
        env = "LASTHOP_DIRECTORY_URL",
        default_value = "sqlite://lasthop-directory.db",
        hide_env_values = true
    )]
    pub directory_url: Secret,
    /// Vault store: `sqlite://path/vault.db` or `postgres://…` (its own role).
    #[arg(
        long,
        env = "LASTHOP_VAULT_URL",
        default_value = "sqlite://lasthop-vault.db",
        hide_env_values = true
    )]
    pub vault_url: Secret,
    /// The master key ring.
    #[command(flatten)]
    pub keys: MasterKeyArgs,
    /// File holding the ops token.
    #[arg(long, env = "LASTHOP_OPS_TOKEN_FILE")]
    pub ops_token_file: Option<PathBuf>,
    /// The ops token itself, instead of a file.
    #[arg(long, env = "LASTHOP_OPS_TOKEN", hide_env_values = true, hide = true)]
    pub ops_token: Option<Secret>,
    /// Base URL of the edge, for pushing scanner revocations (without it they queue up).
    #[arg(long, env = "LASTHOP_EDGE_URL")]
    pub edge_url: Option<String>,
    /// Comma-separated platform slugs this origin serves.
    #[arg(
        long,
        env = "LASTHOP_PLATFORMS",
        default_value = "demo",
        value_delimiter = ','
    )]
    pub platforms: Vec<String>,
    /// Seconds a terminal may keep a released recipient.
    #[arg(long, env = "LASTHOP_RELEASE_TTL_SECS", default_value_t = 86_400)]
    pub release_ttl_secs: u64,
    /// Days a scanner credential stays valid.
    #[arg(long, env = "LASTHOP_SCANNER_TTL_DAYS", default_value_t = 30)]
    pub scanner_ttl_days: u64,
}

/// `keygen` flags.
#[derive(Debug, Clone, Args)]
pub struct KeygenArgs {
    /// Folder to write `master.keys` and `ops.token` into (created if missing).
    #[arg(long)]
    pub dir: PathBuf,
}

/// A secret string: zeroized on drop, `[redacted]` in `Debug`.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }

    /// The value; callers must not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

fn load_secret(
    file: Option<&PathBuf>,
    value: Option<&Secret>,
    what: &str,
) -> anyhow::Result<Secret> {
    use anyhow::Context as _;
    match (file, value) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the {what} file"))?;
            Ok(Secret::new(text.trim().to_owned()))
        }
        (None, Some(value)) => Ok(Secret::new(value.expose().trim().to_owned())),
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
    pub directory_url: Secret,
    /// Vault store URL.
    pub vault_url: Secret,
    /// Master key ring text.
    pub master_keys: Secret,
    /// Ops bearer token.
    pub ops_token: Secret,
    /// Edge base URL for revocation pushes.
    pub edge_url: Option<String>,
    /// Platform slugs served.
    pub platforms: Vec<String>,
    /// How long a terminal may keep a released recipient.
    pub release_ttl: Duration,
    /// How long a scanner credential stays valid.
    pub scanner_ttl: Duration,
    /// How often the revocation outbox is retried.
    pub outbox_interval: Duration,
}

impl Settings {
    /// Builds settings from `serve` flags, reading secret files.
    ///
    /// # Errors
    /// When a secret is missing or unreadable.
    pub fn from_args(args: &ServeArgs) -> anyhow::Result<Self> {
        Ok(Self {
            listen: args.listen,
            directory_url: args.directory_url.clone(),
            vault_url: args.vault_url.clone(),
            master_keys: args.keys.load()?,
            ops_token: load_secret(
                args.ops_token_file.as_ref(),
                args.ops_token.as_ref(),
                "ops token",
            )?,
            edge_url: args.edge_url.clone(),
            platforms: args.platforms.clone(),
            release_ttl: Duration::from_secs(args.release_ttl_secs),
            scanner_ttl: Duration::from_secs(args.scanner_ttl_days.saturating_mul(86_400)),
            outbox_interval: Duration::from_secs(2),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_appear_in_debug_output() {
        let cli = Cli::parse_from([
            "lasthop-origin",
            "serve",
            "--directory-url",
            "postgres://dir:hunter2@localhost/d",
            "--master-keys",
            "1:c2VjcmV0",
            "--ops-token",
            "ops-secret-value",
        ]);
        let Command::Serve(args) = cli.command else {
            panic!("expected serve")
        };
        let settings = Settings::from_args(&args).unwrap();
        let printed = format!("{settings:?} {args:?}");
        for secret in ["hunter2", "c2VjcmV0", "ops-secret-value"] {
            assert!(!printed.contains(secret), "{secret} leaked: {printed}");
        }
        assert_eq!(settings.platforms, vec!["demo".to_owned()]);
    }

    #[test]
    fn serve_without_master_keys_is_an_error() {
        let cli = Cli::parse_from(["lasthop-origin", "serve", "--ops-token", "t"]);
        let Command::Serve(args) = cli.command else {
            panic!("expected serve")
        };
        if std::env::var_os("LASTHOP_MASTER_KEYS").is_none()
            && std::env::var_os("LASTHOP_MASTER_KEYS_FILE").is_none()
        {
            assert!(Settings::from_args(&args).is_err());
        }
    }
}
