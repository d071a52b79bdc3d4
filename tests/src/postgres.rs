//! Throwaway PostgreSQL clusters for tests and `cargo xtask dev`: a primary, a streaming
//! standby made with `pg_basebackup -R` (synchronous once it is attached), and the operator's
//! acts on them — stop, start, `kill -9` of the postmaster, restart, promotion.
//!
//! Each cluster lives in its own folder (`data/`, `postgres.log`, the Unix socket) on a free
//! port of 127.0.0.1, with a superuser `lasthop` that logs in with a password over TCP
//! (SCRAM), so store roles are as separate as in production ([`StoreRole`]). When this process
//! runs as root the server runs as `nobody` (PostgreSQL refuses root).
//!
//! A cluster is stopped when its [`PgCluster`] is dropped. A watchdog process also stops it
//! (and, for a throwaway cluster, deletes its folder) once the process that started it is gone,
//! so a test binary that aborts or a `static` cluster never leaves a server behind.
//!
//! Missing server binaries are an error unless `LASTHOP_SKIP_POSTGRES=1` (see [`required`]).

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

use crate::service::run_to_completion;
use crate::{free_port, procfs, LaunchError, StoreUrls};

/// The superuser of every cluster (also the replication user).
pub const SUPERUSER: &str = "lasthop";
/// Its password (test and development clusters only).
const SUPERUSER_PASSWORD: &str = "admin-pw-for-tests";

/// One of the origin's two store roles, each with its own login and password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreRole {
    /// Owns the directory database.
    Directory,
    /// Owns the vault database.
    Vault,
}

impl StoreRole {
    /// The login role's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Directory => "lasthop_directory",
            Self::Vault => "lasthop_vault",
        }
    }

    /// Its password (test and development clusters only).
    pub fn password(self) -> &'static str {
        match self {
            Self::Directory => "directory-pw",
            Self::Vault => "vault-pw",
        }
    }
}

/// Whether PostgreSQL tests should run: `Ok(true)` when the server binaries are found,
/// `Ok(false)` when they are missing and `LASTHOP_SKIP_POSTGRES=1` says skipping is intended.
///
/// # Errors
/// [`LaunchError::Layout`] when the binaries are missing and skipping was not asked for.
pub fn required() -> Result<bool, LaunchError> {
    if bindir().is_some() {
        return Ok(true);
    }
    if std::env::var("LASTHOP_SKIP_POSTGRES").as_deref() == Ok("1") {
        eprintln!("PostgreSQL binaries not found; skipping because LASTHOP_SKIP_POSTGRES=1");
        return Ok(false);
    }
    Err(LaunchError::Layout(
        "PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup, psql) were not found via \
         `pg_config --bindir` or on PATH. Install PostgreSQL 15+ or set LASTHOP_SKIP_POSTGRES=1 \
         to skip the PostgreSQL tests deliberately."
            .into(),
    ))
}

/// The path of a PostgreSQL program (e.g. `pg_dump`) next to the server binaries.
pub fn tool(name: &str) -> PathBuf {
    bindir().map_or_else(|| PathBuf::from(name), |dir| dir.join(name))
}

/// Where the server binaries are: `pg_config --bindir`, else the real folder of the first
/// `initdb` on PATH (often a symlink into `/usr/lib/postgresql/<v>/bin`, where the rest are).
fn bindir() -> Option<PathBuf> {
    let complete = |dir: &Path| {
        ["initdb", "pg_ctl", "pg_basebackup", "psql"]
            .iter()
            .all(|t| dir.join(t).exists())
    };
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && complete(&dir) {
            return Some(dir);
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter_map(|dir| std::fs::canonicalize(dir.join("initdb")).ok())
        .filter_map(|initdb| initdb.parent().map(Path::to_path_buf))
        .find(|dir| complete(dir))
}

fn running_as_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// How to create a cluster.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// The cluster's folder; created when missing. An existing `data/` in it is reused.
    pub dir: PathBuf,
    /// Port on 127.0.0.1; `None` picks a free one.
    pub port: Option<u16>,
    /// Delete the folder when the cluster is dropped (and when the watchdog stops it).
    pub throwaway: bool,
}

impl PgOptions {
    /// A throwaway cluster in `dir` on a free port.
    pub fn throwaway(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            port: None,
            throwaway: true,
        }
    }
}

/// A PostgreSQL cluster this process created (a primary or a standby). Dropping it stops the
/// server (and deletes a throwaway cluster's folder).
#[derive(Debug)]
pub struct PgCluster {
    bin: PathBuf,
    as_nobody: bool,
    dir: PathBuf,
    port: u16,
    throwaway: bool,
    /// The postmaster of the current run, while this process knows it to be running.
    postmaster: Option<i32>,
    watchdog: Option<Child>,
}

impl PgCluster {
    /// Create (`initdb`, unless `data/` exists) and start a primary that accepts streaming
    /// replication, with both [`StoreRole`]s.
    ///
    /// # Errors
    /// When the binaries are missing or a PostgreSQL command fails.
    pub fn primary(options: PgOptions) -> Result<Self, LaunchError> {
        let mut cluster = Self::prepare(options)?;
        if !cluster.data_dir().join("PG_VERSION").exists() {
            let pwfile = cluster.dir.join("superuser.pw");
            write(&pwfile, SUPERUSER_PASSWORD)?;
            cluster.hand_over(&pwfile)?;
            let mut initdb = cluster.pg("initdb");
            initdb
                .arg("-D")
                .arg(cluster.data_dir())
                .args(["-U", SUPERUSER, "--auth-local=trust"])
                .args(["--auth-host=scram-sha-256", "--no-sync"])
                .arg(format!("--pwfile={}", pwfile.display()));
            run(initdb, "initdb")?;
            let _ = std::fs::remove_file(&pwfile);
            // Written once into the data folder, so a standby copied from it starts with the
            // same settings and an operator can start it by hand with `pg_ctl -D`.
            let settings = "\n# lasthop test and development cluster\n\
                listen_addresses = '127.0.0.1'\n\
                fsync = off\n\
                wal_level = replica\n\
                max_wal_senders = 10\n\
                wal_keep_size = '256MB'\n\
                hot_standby = on\n\
                wal_retrieve_retry_interval = '200ms'\n";
            append(&cluster.data_dir().join("postgresql.conf"), settings)?;
        }
        cluster.write_local_settings(None)?;
        cluster.start()?;
        for role in [StoreRole::Directory, StoreRole::Vault] {
            cluster.ensure_role(role)?;
        }
        Ok(cluster)
    }

    /// Create (`pg_basebackup -R`, unless `data/` exists) and start a streaming standby of
    /// `primary`, then make the primary wait for it on every commit
    /// (`synchronous_standby_names = '*'`), so an acknowledged write is on both servers.
    ///
    /// While the standby is down, commits on the primary wait for it to come back.
    ///
    /// # Errors
    /// When the base backup, the start or the primary's reconfiguration fails.
    pub fn standby_of(primary: &Self, options: PgOptions) -> Result<Self, LaunchError> {
        let mut cluster = Self::prepare(options)?;
        if !cluster.data_dir().join("PG_VERSION").exists() {
            let mut backup = cluster.pg("pg_basebackup");
            backup
                .arg("-D")
                .arg(cluster.data_dir())
                .args(["-h", "127.0.0.1", "-p", &primary.port.to_string()])
                .args([
                    "-U",
                    SUPERUSER,
                    "-R",
                    "-X",
                    "stream",
                    "--no-sync",
                    "--checkpoint=fast",
                ])
                .args(["-d", "application_name=lasthop_standby"])
                .env("PGPASSWORD", SUPERUSER_PASSWORD);
            run(backup, "pg_basebackup")?;
        }
        cluster.write_local_settings(Some(primary.port))?;
        cluster.start()?;
        // `remote_apply`: a commit returns once the standby has applied it, so a read served
        // by the standby sees every acknowledged write.
        primary.psql(
            "postgres",
            "ALTER SYSTEM SET synchronous_standby_names = '*'",
        )?;
        primary.psql(
            "postgres",
            "ALTER SYSTEM SET synchronous_commit = 'remote_apply'",
        )?;
        primary.psql("postgres", "SELECT pg_reload_conf()")?;
        primary.wait_for_synchronous_standby()?;
        Ok(cluster)
    }

    /// Waits until a standby is attached as synchronous (the reload is asynchronous).
    fn wait_for_synchronous_standby(&self) -> Result<(), LaunchError> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let state = self.psql(
                "postgres",
                "SELECT string_agg(sync_state, ',') FROM pg_stat_replication",
            )?;
            if state.split(',').any(|s| s == "sync") {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(LaunchError::Layout(format!(
                    "no synchronous standby attached to the primary on port {} after 60 s \
                     (replication states: {state:?}); see {}",
                    self.port,
                    self.log_path().display()
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn prepare(options: PgOptions) -> Result<Self, LaunchError> {
        // `pg_ctl` leaves the postmaster orphaned; as a subreaper we inherit and reap it, so a
        // killed postmaster does not linger as a zombie that blocks the next start.
        crate::group::become_subreaper();
        let bin = bindir().ok_or_else(|| required().err().unwrap_or_else(not_found))?;
        std::fs::create_dir_all(&options.dir)
            .map_err(|e| LaunchError::io(format!("creating {}", options.dir.display()), e))?;
        let dir = std::fs::canonicalize(&options.dir)
            .map_err(|e| LaunchError::io(format!("resolving {}", options.dir.display()), e))?;
        let port = match options.port {
            Some(port) => port,
            None => free_port()?,
        };
        let mut cluster = Self {
            bin,
            as_nobody: running_as_root(),
            dir,
            port,
            throwaway: options.throwaway,
            postmaster: None,
            watchdog: None,
        };
        cluster.hand_over(&cluster.dir.clone())?;
        cluster.spawn_watchdog()?;
        Ok(cluster)
    }

    /// Port and socket folder of this run, in `postgresql.auto.conf` (read after
    /// `postgresql.conf`), so a standby copied from a primary gets its own; and, for a standby,
    /// where its primary is now (its port may differ from the base backup's).
    fn write_local_settings(&self, primary_port: Option<u16>) -> Result<(), LaunchError> {
        let auto = self.data_dir().join("postgresql.auto.conf");
        let ours = ["port ", "unix_socket_directories ", "primary_conninfo "];
        let kept: String = std::fs::read_to_string(&auto)
            .unwrap_or_default()
            .lines()
            .filter(|l| !ours.iter().any(|o| l.starts_with(o)))
            .map(|l| format!("{l}\n"))
            .collect();
        let mut text = format!(
            "{kept}port = {}\nunix_socket_directories = '{}'\n",
            self.port,
            self.dir.display()
        );
        if let Some(primary) = primary_port {
            text.push_str(&format!(
                "primary_conninfo = 'host=127.0.0.1 port={primary} user={SUPERUSER} \
                 password={SUPERUSER_PASSWORD} application_name=lasthop_standby'\n"
            ));
        }
        write(&auto, &text)?;
        self.hand_over(&auto)
    }

    /// The cluster's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The data directory (`PGDATA`).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The server's log file.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("postgres.log")
    }

    /// The port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The postmaster's process id, read from `data/postmaster.pid`, while it runs.
    pub fn postmaster_pid(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.data_dir().join("postmaster.pid")).ok()?;
        let pid: i32 = text.lines().next()?.trim().parse().ok()?;
        procfs::info(pid).filter(|p| !p.is_zombie()).map(|_| pid)
    }

    /// Whether the postmaster is running.
    pub fn is_running(&self) -> bool {
        self.postmaster_pid().is_some()
    }

    /// `postgres://<role>:<password>@127.0.0.1:<port>/<database>`.
    pub fn url(&self, role: &str, password: &str, database: &str) -> String {
        format!(
            "postgres://{role}:{password}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    /// The URL of a store role on `database`.
    pub fn store_url(&self, role: StoreRole, database: &str) -> String {
        self.url(role.name(), role.password(), database)
    }

    /// The superuser's URL on `database` (for provisioning and raw inspection).
    pub fn admin_url(&self, database: &str) -> String {
        self.url(SUPERUSER, SUPERUSER_PASSWORD, database)
    }

    /// Start the server and wait until it accepts connections (read-only ones on a standby).
    ///
    /// # Errors
    /// When `pg_ctl start` fails.
    pub fn start(&mut self) -> Result<(), LaunchError> {
        let mut start = self.pg("pg_ctl");
        start
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.log_path())
            .args(["-w", "-t", "120", "start"]);
        run(start, "pg_ctl start").map_err(|e| {
            LaunchError::Layout(format!(
                "{e}\nlast lines of {}:\n{}",
                self.log_path().display(),
                crate::log_tail(&self.log_path(), 20)
            ))
        })?;
        self.postmaster = self.postmaster_pid();
        Ok(())
    }

    /// Stop the server (fast shutdown: open sessions are ended). Idempotent.
    pub fn stop(&mut self) {
        if self.is_running() {
            let mut stop = self.pg("pg_ctl");
            stop.arg("-D")
                .arg(self.data_dir())
                .args(["-m", "fast", "-w", "-t", "60", "stop"]);
            if let Err(e) = run(stop, "pg_ctl stop") {
                eprintln!("lasthop-e2e: {e}");
            }
        }
        if let Some(pid) = self.postmaster.take() {
            reap_when_gone(&[pid], Duration::from_secs(10));
        }
    }

    /// `kill -9` of the postmaster, as a crash would do it; returns once it and every server
    /// process it had started are gone. A later [`PgCluster::start`] recovers from the WAL.
    pub fn kill(&mut self) {
        let Some(pid) = self.postmaster_pid() else {
            return;
        };
        let mut server: Vec<i32> = procfs::all()
            .into_iter()
            .filter(|p| p.ppid == pid)
            .map(|p| p.pid)
            .collect();
        server.push(pid);
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        // Backends notice the postmaster's death and exit by themselves; the new postmaster
        // cannot start while they still hold the old shared memory.
        reap_when_gone(&server, Duration::from_secs(30));
        self.postmaster = None;
    }

    /// Stop (if running) and start again on the same port and data.
    ///
    /// # Errors
    /// As [`PgCluster::start`].
    pub fn restart(&mut self) -> Result<(), LaunchError> {
        self.stop();
        self.start()
    }

    /// Promote a standby to a primary (`pg_ctl promote`, waiting until it accepts writes).
    ///
    /// # Errors
    /// When the server is not a standby or promotion fails.
    pub fn promote(&self) -> Result<(), LaunchError> {
        let mut promote = self.pg("pg_ctl");
        promote
            .arg("-D")
            .arg(self.data_dir())
            .args(["-w", "-t", "60", "promote"]);
        run(promote, "pg_ctl promote")?;
        Ok(())
    }

    /// Whether the server is a standby (`pg_is_in_recovery()`).
    ///
    /// # Errors
    /// When the query fails.
    pub fn in_recovery(&self) -> Result<bool, LaunchError> {
        Ok(self.psql("postgres", "SELECT pg_is_in_recovery()")? == "t")
    }

    /// Run SQL as the superuser on `database` with `psql`; its unaligned, tuples-only output.
    ///
    /// # Errors
    /// When psql cannot run or the statement fails.
    pub fn psql(&self, database: &str, sql: &str) -> Result<String, LaunchError> {
        let mut psql = Command::new(self.bin.join("psql"));
        psql.args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"])
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-U", SUPERUSER, "-d", database, "-c", sql])
            .env("PGPASSWORD", SUPERUSER_PASSWORD)
            .env("PGCONNECT_TIMEOUT", "5");
        Ok(run(psql, "psql")?.trim().to_string())
    }

    /// Create a store role when it does not exist yet.
    ///
    /// # Errors
    /// When the statement fails.
    pub fn ensure_role(&self, role: StoreRole) -> Result<(), LaunchError> {
        let exists = self.psql(
            "postgres",
            &format!("SELECT 1 FROM pg_roles WHERE rolname = '{}'", role.name()),
        )?;
        if exists != "1" {
            self.psql(
                "postgres",
                &format!(
                    "CREATE ROLE {} LOGIN PASSWORD '{}'",
                    role.name(),
                    role.password()
                ),
            )?;
        }
        Ok(())
    }

    /// Create `database` owned by `role` and closed to everyone else; returns the role's URL.
    ///
    /// # Errors
    /// When a statement fails (e.g. the database exists).
    pub fn create_store_database(
        &self,
        role: StoreRole,
        database: &str,
    ) -> Result<String, LaunchError> {
        self.psql(
            "postgres",
            &format!("CREATE DATABASE {database} OWNER {}", role.name()),
        )?;
        self.psql(
            "postgres",
            &format!("REVOKE ALL ON DATABASE {database} FROM PUBLIC"),
        )?;
        Ok(self.store_url(role, database))
    }

    /// A directory and a vault database (`<prefix>_directory`, `<prefix>_vault`), each owned
    /// by its store role and closed to everyone else; the URLs an origin is started with.
    ///
    /// # Errors
    /// When a statement fails (e.g. the databases exist).
    pub fn create_store_databases(&self, prefix: &str) -> Result<StoreUrls, LaunchError> {
        Ok(StoreUrls {
            directory: self
                .create_store_database(StoreRole::Directory, &format!("{prefix}_directory"))?,
            vault: self.create_store_database(StoreRole::Vault, &format!("{prefix}_vault"))?,
            vault_standby: None,
        })
    }

    /// `database` owned by `role`, created unless it exists; returns the role's URL.
    ///
    /// # Errors
    /// When a statement fails.
    pub fn ensure_store_database(
        &self,
        role: StoreRole,
        database: &str,
    ) -> Result<String, LaunchError> {
        let exists = self.psql(
            "postgres",
            &format!("SELECT 1 FROM pg_database WHERE datname = '{database}'"),
        )?;
        if exists == "1" {
            Ok(self.store_url(role, database))
        } else {
            self.create_store_database(role, database)
        }
    }

    /// A PostgreSQL program, run as `nobody` when we are root.
    fn pg(&self, program: &str) -> Command {
        if self.as_nobody {
            let mut command = Command::new("runuser");
            command
                .args(["-u", "nobody", "--"])
                .arg(self.bin.join(program));
            command
        } else {
            Command::new(self.bin.join(program))
        }
    }

    /// Gives a path to `nobody` when the server runs as `nobody`.
    fn hand_over(&self, path: &Path) -> Result<(), LaunchError> {
        if !self.as_nobody {
            return Ok(());
        }
        let mut chown = Command::new("chown");
        chown.args(["-R", "nobody"]).arg(path);
        run(chown, "chown").map(drop)
    }

    /// A shell that waits for this process to end, then stops the server and, for a throwaway
    /// cluster, removes its folder. Killed (not waited for) when the cluster is dropped.
    fn spawn_watchdog(&mut self) -> Result<(), LaunchError> {
        let runas = if self.as_nobody {
            "runuser -u nobody -- "
        } else {
            ""
        };
        let remove = if self.throwaway {
            format!("rm -rf '{}'", self.dir.display())
        } else {
            String::new()
        };
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; \
             {runas}'{pg_ctl}' -D '{data}' -m immediate stop >/dev/null 2>&1; {remove}",
            pid = std::process::id(),
            pg_ctl = self.bin.join("pg_ctl").display(),
            data = self.data_dir().display(),
        );
        // Its own process group, so dropping the cluster ends the shell and its `sleep` at once.
        let child = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(|e| LaunchError::io("starting the PostgreSQL watchdog", e))?;
        self.watchdog = Some(child);
        Ok(())
    }
}

/// The origin's stores on PostgreSQL as production runs them: the directory on a cluster of its
/// own, and the vault on a primary with a synchronous streaming standby.
#[derive(Debug)]
pub struct PgStores {
    /// The directory store's cluster (database `lasthop_directory`).
    pub directory: PgCluster,
    /// The vault's primary (database `lasthop_vault`).
    pub vault_primary: PgCluster,
    /// The vault's standby, following the primary.
    pub vault_standby: PgCluster,
}

impl PgStores {
    /// The three clusters under `dir` (`directory/`, `vault-primary/`, `vault-standby/`),
    /// created or, when not `throwaway` and their data exists, started again.
    ///
    /// # Errors
    /// When a cluster cannot be created or started.
    pub fn start(dir: &Path, throwaway: bool) -> Result<Self, LaunchError> {
        let options = |name: &str| PgOptions {
            dir: dir.join(name),
            port: None,
            throwaway,
        };
        let directory = PgCluster::primary(options("directory"))?;
        directory.ensure_store_database(StoreRole::Directory, "lasthop_directory")?;
        let vault_primary = PgCluster::primary(options("vault-primary"))?;
        vault_primary.ensure_store_database(StoreRole::Vault, "lasthop_vault")?;
        let vault_standby = PgCluster::standby_of(&vault_primary, options("vault-standby"))?;
        Ok(Self {
            directory,
            vault_primary,
            vault_standby,
        })
    }

    /// The URLs an origin is started with: each store as its own role, the standby included.
    pub fn urls(&self) -> StoreUrls {
        StoreUrls {
            directory: self
                .directory
                .store_url(StoreRole::Directory, "lasthop_directory"),
            vault: self
                .vault_primary
                .store_url(StoreRole::Vault, "lasthop_vault"),
            vault_standby: Some(
                self.vault_standby
                    .store_url(StoreRole::Vault, "lasthop_vault"),
            ),
        }
    }

    /// Port, data directory and postmaster pid of each cluster, for `dev.json`, so an operator
    /// or a test can stop, kill or promote them.
    pub fn describe(&self) -> serde_json::Value {
        let one = |cluster: &PgCluster| {
            serde_json::json!({
                "port": cluster.port(),
                "data_dir": cluster.data_dir(),
                "pid": cluster.postmaster_pid(),
            })
        };
        serde_json::json!({
            "directory": one(&self.directory),
            "vault_primary": one(&self.vault_primary),
            "vault_standby": one(&self.vault_standby),
        })
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        self.stop();
        if let Some(mut watchdog) = self.watchdog.take() {
            if let Ok(pid) = i32::try_from(watchdog.id()) {
                let _ = nix::sys::signal::killpg(Pid::from_raw(pid), Signal::SIGKILL);
            }
            let _ = watchdog.wait();
        }
        if self.throwaway {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn not_found() -> LaunchError {
    LaunchError::Layout("PostgreSQL server binaries not found".into())
}

/// Waits until none of `pids` is alive, reaping those that were orphaned to this process
/// (the postmaster is re-parented to us when we are a child subreaper).
fn reap_when_gone(pids: &[i32], within: Duration) {
    let me = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
    let deadline = Instant::now() + within;
    loop {
        let mut alive = 0;
        for &pid in pids {
            match procfs::info(pid) {
                Some(p) if p.is_zombie() && p.ppid == me => {
                    let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
                }
                Some(p) if p.is_zombie() => {}
                Some(_) => alive += 1,
                None => {}
            }
        }
        if alive == 0 || Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn run(mut command: Command, what: &str) -> Result<String, LaunchError> {
    run_to_completion(&mut command, what)
}

fn write(path: &Path, text: &str) -> Result<(), LaunchError> {
    std::fs::write(path, text)
        .map_err(|e| LaunchError::io(format!("writing {}", path.display()), e))
}

fn append(path: &Path, text: &str) -> Result<(), LaunchError> {
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| LaunchError::io(format!("appending to {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("lasthop-e2e-pg-{}-{name}", std::process::id()))
    }

    #[test]
    fn a_standby_follows_its_primary_survives_its_crash_and_can_be_promoted() {
        if !required().unwrap() {
            return;
        }
        let mut primary = PgCluster::primary(PgOptions::throwaway(temp_dir("primary"))).unwrap();
        let standby =
            PgCluster::standby_of(&primary, PgOptions::throwaway(temp_dir("standby"))).unwrap();
        assert!(standby.in_recovery().unwrap());
        assert!(!primary.in_recovery().unwrap());
        let url = primary
            .create_store_database(StoreRole::Vault, "vault_t")
            .unwrap();
        assert!(url.contains("lasthop_vault:vault-pw@"));
        primary
            .psql(
                "vault_t",
                "CREATE TABLE t (x INT); INSERT INTO t VALUES (7)",
            )
            .unwrap();
        // Synchronous: the committed row is already on the standby.
        assert_eq!(standby.psql("vault_t", "SELECT x FROM t").unwrap(), "7");

        let before = primary.postmaster_pid().unwrap();
        primary.kill();
        assert!(!primary.is_running());
        assert!(procfs::info(before).is_none_or(|p| p.is_zombie()));
        assert_eq!(standby.psql("vault_t", "SELECT x FROM t").unwrap(), "7");
        primary.start().unwrap();
        assert_eq!(primary.psql("vault_t", "SELECT x FROM t").unwrap(), "7");

        primary.kill();
        standby.promote().unwrap();
        assert!(!standby.in_recovery().unwrap());
        standby.psql("vault_t", "INSERT INTO t VALUES (8)").unwrap();
        let dir = standby.dir().to_path_buf();
        drop(standby);
        assert!(!dir.exists(), "a throwaway cluster's folder is removed");
    }
}
