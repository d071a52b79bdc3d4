//! The vault's servers and which one serves: the switch between a primary and its streaming
//! standby.
//!
//! sqlx has no multi-host failover, so the origin keeps one pool per server and a small switch:
//! - a probe asks each server every [`PROBE_EVERY`] whether it answers and whether it is in
//!   recovery (`pg_is_in_recovery()`): *writable*, *read-only* (a standby) or *down*;
//! - writes go to the writable server: the primary, or the standby once an operator has
//!   promoted it. Should both accept writes (an old primary restarted after a promotion), the
//!   one on the newer timeline wins, which is the promoted one;
//! - reads go to the writable server, else to a read-only one. A read that fails on one server
//!   is retried at once on the other, so a dead primary costs one failed attempt (bounded by
//!   [`CALL_TIMEOUT`]), not a probe period;
//! - nothing here ever promotes a server: promotion is the operator's act (no split brain).
//!
//! A SQLite vault has no standby. Its file counts as unreachable when its path no longer leads
//! to the file that was opened (the volume went away, the folder was moved or removed): the
//! pool is dropped at once, so nothing is written into a file nobody will see again, and a
//! fresh pool is opened (never creating the file anew) once the path leads to a file again.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::AnyPool;
use tokio::sync::Notify;

use super::pool::StorePool;
use super::{Backend, OpenError, UnsupportedUrl, VAULT_POSTGRES, VAULT_SQLITE};

/// How often the probe asks both servers.
pub const PROBE_EVERY: Duration = Duration::from_millis(250);
/// How long one vault call (or one probe) may take before its server counts as not answering.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(1);

/// One of the vault's servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The server named by `--vault-url`.
    Primary,
    /// The server named by `--vault-standby-url`.
    Standby,
}

impl Role {
    /// `primary` or `standby`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Standby => "standby",
        }
    }
}

/// What the last probe found a server to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    /// It did not answer (or its SQLite file is gone).
    Down,
    /// It answers reads only (a standby in recovery).
    ReadOnly,
    /// It takes writes; `timeline` orders two writable PostgreSQL servers (0 for SQLite).
    Writable {
        /// The PostgreSQL timeline of its current WAL.
        timeline: u32,
    },
}

impl ServerState {
    /// `down`, `read_only` or `writable`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Down => "down",
            Self::ReadOnly => "read_only",
            Self::Writable { .. } => "writable",
        }
    }
}

/// The servers' states and the choice made from them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The primary's state.
    pub primary: ServerState,
    /// The standby's, when one is configured.
    pub standby: Option<ServerState>,
    /// Where writes go.
    pub writer: Option<Role>,
    /// Where reads go.
    pub reader: Option<Role>,
}

impl Route {
    /// Chooses the writer and the reader from the servers' states.
    pub fn choose(primary: ServerState, standby: Option<ServerState>) -> Self {
        let servers = [(Role::Primary, Some(primary)), (Role::Standby, standby)];
        let writer = servers
            .iter()
            .filter_map(|(role, state)| match state {
                Some(ServerState::Writable { timeline }) => Some((*timeline, *role)),
                _ => None,
            })
            // The newer timeline is the promoted server; on a tie (SQLite, or no promotion
            // yet) the primary, which sorts last here.
            .max_by_key(|(timeline, role)| (*timeline, *role == Role::Primary))
            .map(|(_, role)| role);
        let reader = writer.or_else(|| {
            servers
                .iter()
                .find(|(_, state)| *state == Some(ServerState::ReadOnly))
                .map(|(role, _)| *role)
        });
        Self {
            primary,
            standby,
            writer,
            reader,
        }
    }
}

/// One server: its pool (opened lazily, reopened for SQLite) and what is known of it.
struct Server {
    role: Role,
    url: SecretString,
    backend: Backend,
    /// The SQLite file, to notice it going away.
    file: Option<PathBuf>,
    pool: RwLock<Option<StorePool>>,
    /// (device, inode) of the SQLite file the pool has open.
    identity: Mutex<Option<(u64, u64)>>,
    /// Once the file existed, it is never created again (a missing file is an outage).
    opened_once: AtomicBool,
    migrated: AtomicBool,
}

impl Server {
    fn new(role: Role, url: &str) -> Result<Self, UnsupportedUrl> {
        let backend = Backend::of_url(url)?;
        let file = (backend == Backend::Sqlite)
            .then(|| sqlite_file(url))
            .flatten();
        Ok(Self {
            role,
            url: SecretString::from(url),
            backend,
            file,
            pool: RwLock::new(None),
            identity: Mutex::new(None),
            opened_once: AtomicBool::new(false),
            migrated: AtomicBool::new(false),
        })
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &VAULT_SQLITE,
            Backend::Postgres => &VAULT_POSTGRES,
        }
    }

    /// The pool while the server is usable as far as this process can tell without asking it.
    fn pool(&self) -> Option<StorePool> {
        if self.backend == Backend::Sqlite && !self.file_is_the_opened_one() {
            self.drop_pool();
            return None;
        }
        self.pool.read().ok()?.clone()
    }

    /// Whether the SQLite path still leads to the file the pool opened.
    fn file_is_the_opened_one(&self) -> bool {
        let Some(file) = &self.file else {
            return true;
        };
        let now = file_identity(file);
        let opened = self.identity.lock().map(|i| *i).unwrap_or(None);
        now.is_some() && (opened.is_none() || now == opened)
    }

    fn drop_pool(&self) {
        let taken = self.pool.write().ok().and_then(|mut slot| slot.take());
        if let Some(pool) = taken {
            tracing::warn!(
                server = self.role.as_str(),
                "vault file unreachable; its pool is closed"
            );
            let pool = pool.pool().clone();
            tokio::spawn(async move { pool.close().await });
        }
        if let Ok(mut identity) = self.identity.lock() {
            *identity = None;
        }
    }

    /// Opens the pool when there is none: lazily for PostgreSQL, at once for SQLite (whose
    /// file must exist after the first time).
    async fn ensure_pool(&self) -> Result<StorePool, OpenError> {
        if let Some(pool) = self.pool() {
            return Ok(pool);
        }
        let store = "vault";
        let url = self.connect_url();
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|source| OpenError::Connect { store, source })?;
        let pool_options = AnyPoolOptions::new()
            .max_connections(if self.backend == Backend::Sqlite {
                4
            } else {
                8
            })
            .acquire_timeout(CALL_TIMEOUT);
        let pool = match self.backend {
            Backend::Postgres => pool_options.connect_lazy_with(options),
            Backend::Sqlite => {
                let identity_before = self.file.as_deref().and_then(file_identity);
                let pool = super::zeroing_deletes(pool_options)
                    .connect_with(options)
                    .await
                    .map_err(|source| OpenError::Connect { store, source })?;
                sqlx::query("PRAGMA journal_mode=WAL")
                    .execute(&pool)
                    .await
                    .map_err(|source| OpenError::Connect { store, source })?;
                let identity = self.file.as_deref().and_then(file_identity);
                if identity.is_none() || (identity_before.is_some() && identity != identity_before)
                {
                    pool.close().await;
                    return Err(OpenError::Connect {
                        store,
                        source: sqlx::Error::Protocol("the vault file moved while opening".into()),
                    });
                }
                if let Ok(mut slot) = self.identity.lock() {
                    *slot = identity;
                }
                self.opened_once.store(true, Ordering::SeqCst);
                pool
            }
        };
        let pool = StorePool::new(pool, self.backend);
        if let Ok(mut slot) = self.pool.write() {
            *slot = Some(pool.clone());
        }
        Ok(pool)
    }

    /// The URL to connect with: a SQLite file is created only the first time.
    fn connect_url(&self) -> String {
        let url = self.url.expose_secret();
        if self.backend != Backend::Sqlite {
            return url.to_owned();
        }
        let mode = if self.opened_once.load(Ordering::SeqCst) {
            "rw"
        } else {
            "rwc"
        };
        let (path, query) = url.split_once('?').unwrap_or((url, ""));
        let mut params: Vec<&str> = query
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("mode="))
            .collect();
        let mode = format!("mode={mode}");
        params.push(&mode);
        format!("{path}?{}", params.join("&"))
    }

    /// Asks the server what it is; a newly writable server is migrated first.
    async fn probe(&self) -> ServerState {
        let pool = match tokio::time::timeout(CALL_TIMEOUT, self.ensure_pool()).await {
            Ok(Ok(pool)) => pool,
            Ok(Err(err)) => {
                tracing::debug!(server = self.role.as_str(), error = %err, "vault server not reachable");
                return ServerState::Down;
            }
            Err(_) => return ServerState::Down,
        };
        let state = match tokio::time::timeout(CALL_TIMEOUT, ask(pool.pool(), self.backend)).await {
            Ok(Ok(state)) => state,
            _ => ServerState::Down,
        };
        if matches!(state, ServerState::Writable { .. }) && !self.migrated.load(Ordering::SeqCst) {
            match self.migrator().run(pool.pool()).await {
                Ok(()) => self.migrated.store(true, Ordering::SeqCst),
                Err(err) => {
                    tracing::error!(server = self.role.as_str(), error = %err, "could not migrate the vault");
                    return ServerState::Down;
                }
            }
        }
        state
    }
}

/// One question that tells down, read-only and writable apart (and the timeline).
async fn ask(pool: &AnyPool, backend: Backend) -> Result<ServerState, sqlx::Error> {
    match backend {
        Backend::Sqlite => {
            sqlx::query("SELECT 1").execute(pool).await?;
            Ok(ServerState::Writable { timeline: 0 })
        }
        Backend::Postgres => {
            // The WAL file name starts with the timeline in hex; a standby has none to give.
            let (wal,): (String,) = sqlx::query_as(
                "SELECT CASE WHEN pg_is_in_recovery() THEN '' \
                 ELSE pg_walfile_name(pg_current_wal_lsn()) END",
            )
            .fetch_one(pool)
            .await?;
            if wal.is_empty() {
                return Ok(ServerState::ReadOnly);
            }
            let timeline = wal
                .get(..8)
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .unwrap_or(0);
            Ok(ServerState::Writable { timeline })
        }
    }
}

/// The file of a `sqlite:` URL (`None` for an in-memory database).
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next()?;
    (!path.is_empty() && !path.starts_with(":memory:")).then(|| PathBuf::from(path))
}

fn file_identity(path: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt as _;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// The vault's servers and the current route. Cheap to clone.
#[derive(Clone)]
pub struct VaultSwitch(Arc<Inner>);

struct Inner {
    primary: Server,
    standby: Option<Server>,
    route: RwLock<Route>,
    wake: Notify,
}

impl VaultSwitch {
    /// The switch over a primary and an optional standby; nothing is connected yet.
    ///
    /// # Errors
    /// [`UnsupportedUrl`] for a URL of no supported backend.
    pub fn new(primary: &str, standby: Option<&str>) -> Result<Self, UnsupportedUrl> {
        let primary = Server::new(Role::Primary, primary)?;
        let standby = standby
            .map(|url| Server::new(Role::Standby, url))
            .transpose()?;
        let route = Route::choose(
            ServerState::Down,
            standby.as_ref().map(|_| ServerState::Down),
        );
        Ok(Self(Arc::new(Inner {
            primary,
            standby,
            route: RwLock::new(route),
            wake: Notify::new(),
        })))
    }

    /// Opens and migrates the primary now, reporting why it cannot be (provisioning needs it).
    ///
    /// # Errors
    /// [`OpenError`] when it cannot be connected to or migrated.
    pub async fn open_primary(&self) -> Result<(), OpenError> {
        let server = &self.0.primary;
        let pool = server.ensure_pool().await?;
        server
            .migrator()
            .run(pool.pool())
            .await
            .map_err(|source| OpenError::Migrate {
                store: "vault",
                source,
            })?;
        server.migrated.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Probes both servers (at once) and updates the route; returns it.
    pub async fn refresh(&self) -> Route {
        let standby = async {
            match &self.0.standby {
                Some(server) => Some(server.probe().await),
                None => None,
            }
        };
        let (primary, standby) = tokio::join!(self.0.primary.probe(), standby);
        let route = Route::choose(primary, standby);
        let before = self.route();
        if route != before {
            let writable = |s: ServerState| matches!(s, ServerState::Writable { .. });
            if writable(route.primary) && route.standby.is_some_and(writable) {
                tracing::error!(
                    "both vault servers accept writes; writing to the one on the newer timeline"
                );
            }
            tracing::warn!(
                primary = route.primary.as_str(),
                standby = route.standby.map_or("not_configured", ServerState::as_str),
                writer = route.writer.map_or("none", Role::as_str),
                reader = route.reader.map_or("none", Role::as_str),
                "vault route changed"
            );
        }
        if let Ok(mut slot) = self.0.route.write() {
            *slot = route;
        }
        route
    }

    /// The route as last probed.
    pub fn route(&self) -> Route {
        self.0
            .route
            .read()
            .map(|r| *r)
            .unwrap_or_else(|p| *p.into_inner())
    }

    /// Probes every [`PROBE_EVERY`], or at once after [`VaultSwitch::suspect`], until `stop`.
    pub async fn run(self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            self.refresh().await;
            tokio::select! {
                () = tokio::time::sleep(PROBE_EVERY) => {}
                () = self.0.wake.notified() => {}
                () = &mut stop => return,
            }
        }
    }

    /// The pool writes go to, if any server takes writes.
    pub(crate) fn writer(&self) -> Option<(Role, StorePool)> {
        let role = self.route().writer?;
        Some((role, self.server(role)?.pool()?))
    }

    /// The pool reads go to first, if any server answers.
    pub(crate) fn reader(&self) -> Option<(Role, StorePool)> {
        let role = self.route().reader?;
        Some((role, self.server(role)?.pool()?))
    }

    /// The other server's pool, to retry a read that failed on `failed` (whatever the last
    /// probe said of it: it may have come up since).
    pub(crate) fn other(&self, failed: Role) -> Option<(Role, StorePool)> {
        let role = match failed {
            Role::Primary => Role::Standby,
            Role::Standby => Role::Primary,
        };
        Some((role, self.server(role)?.pool()?))
    }

    /// A call on `role` failed: stop sending it work until the probe finds it well again.
    pub fn suspect(&self, role: Role) {
        if let Ok(mut route) = self.0.route.write() {
            let (primary, standby) = match role {
                Role::Primary => (ServerState::Down, route.standby),
                Role::Standby => (route.primary, route.standby.map(|_| ServerState::Down)),
            };
            *route = Route::choose(primary, standby);
        }
        self.0.wake.notify_one();
    }

    /// The primary's pool as it is now (tests and provisioning inspect or close it).
    pub fn primary_pool(&self) -> Option<AnyPool> {
        self.0.primary.pool().map(|p| p.pool().clone())
    }

    /// Whether a standby is configured.
    pub fn has_standby(&self) -> bool {
        self.0.standby.is_some()
    }

    fn server(&self, role: Role) -> Option<&Server> {
        match role {
            Role::Primary => Some(&self.0.primary),
            Role::Standby => self.0.standby.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W1: ServerState = ServerState::Writable { timeline: 1 };
    const W2: ServerState = ServerState::Writable { timeline: 2 };
    const RO: ServerState = ServerState::ReadOnly;
    const DOWN: ServerState = ServerState::Down;

    #[test]
    fn a_healthy_pair_writes_and_reads_on_the_primary() {
        let route = Route::choose(W1, Some(RO));
        assert_eq!(route.writer, Some(Role::Primary));
        assert_eq!(route.reader, Some(Role::Primary));
    }

    #[test]
    fn with_the_primary_down_reads_go_to_the_standby_and_nothing_is_written() {
        let route = Route::choose(DOWN, Some(RO));
        assert_eq!(route.writer, None);
        assert_eq!(route.reader, Some(Role::Standby));
    }

    #[test]
    fn a_promoted_standby_takes_writes_even_when_the_old_primary_comes_back() {
        assert_eq!(Route::choose(DOWN, Some(W2)).writer, Some(Role::Standby));
        let split = Route::choose(W1, Some(W2));
        assert_eq!(split.writer, Some(Role::Standby));
        assert_eq!(split.reader, Some(Role::Standby));
    }

    #[test]
    fn an_old_primary_following_the_promoted_standby_only_serves_reads_as_a_fallback() {
        let route = Route::choose(RO, Some(W2));
        assert_eq!(route.writer, Some(Role::Standby));
        assert_eq!(Route::choose(RO, Some(DOWN)).reader, Some(Role::Primary));
    }

    #[test]
    fn without_a_standby_a_down_primary_leaves_neither_writer_nor_reader() {
        let route = Route::choose(DOWN, None);
        assert_eq!((route.writer, route.reader), (None, None));
        assert_eq!(Route::choose(W1, None).writer, Some(Role::Primary));
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_file("sqlite:///var/lib/v.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/v.db"))
        );
        assert_eq!(
            sqlite_file("sqlite://rel/v.db"),
            Some(PathBuf::from("rel/v.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://x/y"), None);
    }
}
