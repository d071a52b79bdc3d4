//! A throwaway PostgreSQL cluster, started once per test binary, with the two store
//! roles the origin uses in production. Each test gets a fresh pair of databases.
//!
//! The cluster runs as `nobody` when the tests run as root (Postgres refuses root), uses
//! password (SCRAM) authentication over TCP so role separation is real, and a watchdog
//! process stops it and deletes its folder when the test binary exits, even on a panic.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use sqlx::{Connection, Executor, PgConnection};

/// Password of the cluster's superuser `lasthop`.
const ADMIN_PASSWORD: &str = "admin-pw-for-tests";
/// Directory-store role.
pub const DIRECTORY_ROLE: &str = "lasthop_directory";
/// Vault-store role.
pub const VAULT_ROLE: &str = "lasthop_vault";
/// Their passwords (test only).
pub const DIRECTORY_PASSWORD: &str = "directory-pw";
/// See [`DIRECTORY_PASSWORD`].
pub const VAULT_PASSWORD: &str = "vault-pw";

/// A running cluster.
pub struct Cluster {
    port: u16,
}

/// A fresh pair of databases, each owned by its own role.
pub struct Databases {
    /// URL as the directory role.
    pub directory_url: String,
    /// URL as the vault role.
    pub vault_url: String,
    /// Database names.
    pub directory_db: String,
    /// See [`Databases::directory_db`].
    pub vault_db: String,
}

/// Whether Postgres tests should run. Missing binaries fail loudly unless
/// `LASTHOP_SKIP_POSTGRES=1` says skipping is intended.
pub fn enabled() -> bool {
    if bindir().is_some() {
        return true;
    }
    if std::env::var("LASTHOP_SKIP_POSTGRES").as_deref() == Ok("1") {
        eprintln!("PostgreSQL binaries not found; skipping because LASTHOP_SKIP_POSTGRES=1");
        return false;
    }
    panic!(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found on PATH or via \
         `pg_config --bindir`. Install PostgreSQL 15+ or set LASTHOP_SKIP_POSTGRES=1 to skip \
         the PostgreSQL half of the origin tests deliberately."
    );
}

fn bindir() -> Option<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        if out.status.success() {
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if dir.join("initdb").exists() && dir.join("pg_ctl").exists() {
                return Some(dir);
            }
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a Postgres tool, as `nobody` when we are root.
fn pg_tool(bin: &Path, tool: &str, as_nobody: bool) -> Command {
    let program = bin.join(tool);
    if as_nobody {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "nobody", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn run(mut cmd: Command, what: &str) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The cluster of this test binary, started on first use.
pub fn cluster() -> &'static Cluster {
    static CLUSTER: OnceLock<Cluster> = OnceLock::new();
    CLUSTER.get_or_init(start_cluster)
}

fn start_cluster() -> Cluster {
    let bin = bindir().expect("checked by enabled()");
    let root = is_root();
    let dir = tempfile::Builder::new()
        .prefix("lasthop-pg-")
        .tempdir_in("/tmp")
        .expect("tempdir")
        .keep();
    let data = dir.join("data");
    let pwfile = dir.join("pw");
    std::fs::write(&pwfile, ADMIN_PASSWORD).expect("pwfile");
    if root {
        run(
            {
                let mut c = Command::new("chown");
                c.args(["-R", "nobody"]).arg(&dir);
                c
            },
            "chown",
        );
    }
    let mut initdb = pg_tool(&bin, "initdb", root);
    initdb
        .arg("-D")
        .arg(&data)
        .args([
            "-U",
            "lasthop",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--no-sync",
        ])
        .arg(format!("--pwfile={}", pwfile.display()));
    run(initdb, "initdb");

    let port = free_port();
    let mut start = pg_tool(&bin, "pg_ctl", root);
    start
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(dir.join("log"))
        .arg("-o")
        .arg(format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            dir.display()
        ))
        .args(["-w", "start"]);
    run(start, "pg_ctl start");

    // The watchdog outlives this process: once the test binary is gone (passed, failed or
    // aborted), it stops the cluster and removes its folder.
    let stop = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {runas}{pg_ctl} -D {data} stop -m immediate >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        runas = if root { "runuser -u nobody -- " } else { "" },
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        dir = dir.display(),
    );
    // Never waited for on purpose: it must outlive this process.
    #[allow(clippy::zombie_processes)]
    Command::new("sh")
        .args(["-c", &stop])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("watchdog");

    let cluster = Cluster { port };
    // We may be inside a test's runtime, which must not block on another one: use a thread.
    let admin_url = cluster.url("lasthop", ADMIN_PASSWORD, "postgres");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let mut admin = PgConnection::connect(&admin_url)
                .await
                .expect("admin connection");
            for (role, password) in [
                (DIRECTORY_ROLE, DIRECTORY_PASSWORD),
                (VAULT_ROLE, VAULT_PASSWORD),
            ] {
                admin
                    .execute(format!("CREATE ROLE {role} LOGIN PASSWORD '{password}'").as_str())
                    .await
                    .expect("create role");
            }
        });
    })
    .join()
    .expect("role setup");
    cluster
}

impl Cluster {
    /// A superuser connection to `database`.
    pub async fn admin(&self, database: &str) -> PgConnection {
        PgConnection::connect(&format!(
            "postgres://lasthop:{ADMIN_PASSWORD}@127.0.0.1:{}/{database}",
            self.port
        ))
        .await
        .expect("admin connection")
    }

    /// URL for `role` on `database`.
    pub fn url(&self, role: &str, password: &str, database: &str) -> String {
        format!(
            "postgres://{role}:{password}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    /// Creates a fresh directory and vault database, each owned by its role and closed to
    /// everyone else.
    pub async fn fresh_databases(&self) -> Databases {
        let suffix: u64 = rand::random();
        let directory_db = format!("directory_{suffix:x}");
        let vault_db = format!("vault_{suffix:x}");
        let mut admin = self.admin("postgres").await;
        for (db, role) in [(&directory_db, DIRECTORY_ROLE), (&vault_db, VAULT_ROLE)] {
            admin
                .execute(format!("CREATE DATABASE {db} OWNER {role}").as_str())
                .await
                .expect("create db");
            admin
                .execute(format!("REVOKE ALL ON DATABASE {db} FROM PUBLIC").as_str())
                .await
                .expect("revoke");
        }
        admin.close().await.ok();
        Databases {
            directory_url: self.url(DIRECTORY_ROLE, DIRECTORY_PASSWORD, &directory_db),
            vault_url: self.url(VAULT_ROLE, VAULT_PASSWORD, &vault_db),
            directory_db,
            vault_db,
        }
    }
}

/// Path of a Postgres client tool (e.g. `pg_dump`) next to the server binaries.
pub fn bin(tool: &str) -> PathBuf {
    bindir().map_or_else(|| PathBuf::from(tool), |dir| dir.join(tool))
}
