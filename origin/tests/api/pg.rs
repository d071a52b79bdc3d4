//! The PostgreSQL cluster of this test binary: one throwaway cluster (from the `lasthop-e2e`
//! launchers) started on first use, with the two store roles the origin uses in production.
//! Each test gets a fresh pair of databases.

use std::sync::OnceLock;

use lasthop_e2e::postgres::{self, PgCluster, PgOptions, StoreRole};

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
    postgres::required().unwrap_or_else(|e| panic!("{e}"))
}

/// The cluster of this test binary, started on first use; its watchdog stops it and removes
/// its folder when the binary exits.
pub fn cluster() -> &'static PgCluster {
    static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("lasthop-pg-{}", std::process::id()));
        PgCluster::primary(PgOptions::throwaway(dir)).expect("start the PostgreSQL cluster")
    })
}

/// Creates a fresh directory and vault database, each owned by its role and closed to
/// everyone else.
pub async fn fresh_databases() -> Databases {
    tokio::task::spawn_blocking(|| {
        let cluster = cluster();
        let suffix: u64 = rand::random();
        let directory_db = format!("directory_{suffix:x}");
        let vault_db = format!("vault_{suffix:x}");
        Databases {
            directory_url: cluster
                .create_store_database(StoreRole::Directory, &directory_db)
                .expect("create the directory database"),
            vault_url: cluster
                .create_store_database(StoreRole::Vault, &vault_db)
                .expect("create the vault database"),
            directory_db,
            vault_db,
        }
    })
    .await
    .expect("database setup")
}
