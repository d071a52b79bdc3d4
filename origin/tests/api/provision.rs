//! `lasthop-origin provision` on a throwaway PostgreSQL cluster: each store's role can do its
//! job (connect to its own database, read and write the tables its migrations made) and
//! nothing more (not reach the other database, not create roles or databases); PUBLIC has no
//! right on either database; a second run is harmless.

use std::process::Command;

use sqlx::{Connection as _, Executor as _, PgConnection};

use crate::pg;

struct Provisioned {
    dir: tempfile::TempDir,
    directory_db: String,
    vault_db: String,
    directory_role: String,
    vault_role: String,
}

impl Provisioned {
    fn password(&self, store: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{store}.password")))
            .unwrap()
            .trim()
            .to_owned()
    }

    /// Runs `lasthop-origin provision` with this setup; its stdout.
    fn run(&self) -> String {
        let admin = self.dir.path().join("admin.url");
        std::fs::write(&admin, pg::cluster().admin_url("postgres")).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_lasthop-origin"))
            .arg("provision")
            .arg("--admin-url-file")
            .arg(&admin)
            .args(["--directory-role", &self.directory_role])
            .args(["--directory-database", &self.directory_db])
            .args(["--vault-role", &self.vault_role])
            .args(["--vault-database", &self.vault_db])
            .arg("--directory-password-file")
            .arg(self.dir.path().join("directory.password"))
            .arg("--vault-password-file")
            .arg(self.dir.path().join("vault.password"))
            .arg("--pgpass-file")
            .arg(self.dir.path().join("pgpass"))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "provision failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    async fn connect(
        &self,
        role: &str,
        password: &str,
        db: &str,
    ) -> Result<PgConnection, sqlx::Error> {
        PgConnection::connect(&pg::cluster().url(role, password, db)).await
    }
}

fn sqlstate(err: &sqlx::Error) -> String {
    err.as_database_error()
        .and_then(|e| e.code())
        .map(|c| c.into_owned())
        .unwrap_or_else(|| format!("not a database error: {err}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioned_roles_can_each_use_their_own_store_and_nothing_else() {
    if !pg::enabled() {
        return;
    }
    let suffix: u32 = rand::random();
    let setup = Provisioned {
        dir: tempfile::tempdir().unwrap(),
        directory_db: format!("prov_directory_{suffix:x}"),
        vault_db: format!("prov_vault_{suffix:x}"),
        directory_role: format!("prov_directory_{suffix:x}"),
        vault_role: format!("prov_vault_{suffix:x}"),
    };
    let first = setup.run();
    assert!(
        first.contains(&format!("role {}: created", setup.directory_role)),
        "{first}"
    );
    assert!(
        first.contains(&format!("database {}: created", setup.vault_db)),
        "{first}"
    );
    assert!(
        first.contains(&format!(
            "vault_url = \"postgres://{}@127.0.0.1:{}/{}\"",
            setup.vault_role,
            pg::cluster().port(),
            setup.vault_db
        )),
        "{first}"
    );
    let (dir_pw, vault_pw) = (setup.password("directory"), setup.password("vault"));
    assert_ne!(dir_pw, vault_pw);
    assert!(dir_pw.len() >= 32);
    // Neither the passwords nor the admin's are printed.
    assert!(!first.contains(&dir_pw) && !first.contains(&vault_pw));
    assert!(!first.contains("admin-pw"));
    let pgpass = std::fs::read_to_string(setup.dir.path().join("pgpass")).unwrap();
    assert!(pgpass.contains(&format!(
        ":{}:{}:{dir_pw}\n",
        setup.directory_db, setup.directory_role
    )));

    // Each role does its job: its migrations made the tables, and it reads and writes them.
    let mut directory = setup
        .connect(&setup.directory_role, &dir_pw, &setup.directory_db)
        .await
        .unwrap();
    directory
        .execute("INSERT INTO platforms (platform_id) VALUES ('provision-test')")
        .await
        .unwrap();
    let mut vault = setup
        .connect(&setup.vault_role, &vault_pw, &setup.vault_db)
        .await
        .unwrap();
    let records: i64 = sqlx::query_scalar("SELECT count(*) FROM address_records")
        .fetch_one(&mut vault)
        .await
        .unwrap();
    assert_eq!(records, 0);

    // Nothing more: not the other store's database …
    for (role, pw, other_db) in [
        (&setup.directory_role, &dir_pw, &setup.vault_db),
        (&setup.vault_role, &vault_pw, &setup.directory_db),
    ] {
        let err = setup.connect(role, pw, other_db).await.unwrap_err();
        assert_eq!(sqlstate(&err), "42501", "{role} reached {other_db}: {err}");
    }
    // … nor another role of the cluster (PUBLIC has lost CONNECT) …
    let stranger = pg::cluster().url(
        lasthop_e2e::postgres::StoreRole::Directory.name(),
        lasthop_e2e::postgres::StoreRole::Directory.password(),
        &setup.vault_db,
    );
    pg::cluster()
        .ensure_role(lasthop_e2e::postgres::StoreRole::Directory)
        .unwrap();
    let err = PgConnection::connect(&stranger).await.unwrap_err();
    assert_eq!(sqlstate(&err), "42501", "{err}");
    // … nor roles, databases, or the other role's rights.
    for (conn, role) in [
        (&mut directory, &setup.vault_role),
        (&mut vault, &setup.directory_role),
    ] {
        for statement in [
            "CREATE ROLE provision_intruder LOGIN".to_owned(),
            "CREATE DATABASE provision_intruder".to_owned(),
            format!("SET ROLE {role}"),
        ] {
            let err = conn.execute(statement.as_str()).await.unwrap_err();
            assert_eq!(sqlstate(&err), "42501", "{statement}: {err}");
        }
    }
    let attributes: (bool, bool, bool, bool) = sqlx::query_as(
        "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&mut vault)
    .await
    .unwrap();
    assert_eq!(attributes, (false, false, false, false));
    directory.close().await.unwrap();
    vault.close().await.unwrap();

    // A second run keeps data and passwords and reports what already existed.
    let second = setup.run();
    assert!(
        second.contains(&format!("database {}: exists", setup.directory_db)),
        "{second}"
    );
    assert_eq!(setup.password("directory"), dir_pw);
    let mut directory = setup
        .connect(&setup.directory_role, &dir_pw, &setup.directory_db)
        .await
        .unwrap();
    let kept: i64 =
        sqlx::query_scalar("SELECT count(*) FROM platforms WHERE platform_id = 'provision-test'")
            .fetch_one(&mut directory)
            .await
            .unwrap();
    assert_eq!(kept, 1);
    directory.close().await.unwrap();
}
