//! `lasthop-origin provision`: create the directory and vault databases on PostgreSQL, each
//! owned by its own login role with the least privilege it needs, then migrate each as its
//! role. Idempotent: a second run changes nothing but the passwords (set again from their
//! files) and applies new migrations.
//!
//! What each role gets, and nothing more:
//! - `LOGIN`, and `NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS`;
//! - ownership of its own database and of that database's `public` schema (its migrations
//!   create the tables);
//! - no membership in the other role, no grant on the other database.
//!
//! Every database gets `REVOKE ALL … FROM PUBLIC`, and its `public` schema too, so no other
//! role of the cluster (the other store's role included) can connect to it or see into it.
//!
//! The admin connection needs `CREATEROLE` and `CREATEDB` (a superuser, or a managed service's
//! admin such as `rds_superuser`). A non-superuser admin is made a member of both roles, which
//! PostgreSQL requires to create a database owned by another role.
//!
//! Role and database names are checked to be plain identifiers (`[a-z_][a-z0-9_]*`, at most 63
//! bytes), so they are written into statements as they are; passwords only ever pass through
//! the server's own `format('%L')` quoting.

use std::str::FromStr as _;

use secrecy::{ExposeSecret as _, SecretString};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions as _, Connection as _, Executor as _, Row as _};

use crate::store::Stores;

/// One store's role and database.
#[derive(Debug, Clone)]
pub struct StorePlan {
    /// The login role (also the owner of the database).
    pub role: Identifier,
    /// The database.
    pub database: Identifier,
    /// The role's password.
    pub password: SecretString,
}

/// What to provision.
#[derive(Debug, Clone)]
pub struct Plan {
    /// A connection URL for an admin with `CREATEROLE` and `CREATEDB` (any database).
    pub admin_url: SecretString,
    /// The directory store.
    pub directory: StorePlan,
    /// The vault store.
    pub vault: StorePlan,
}

/// What provisioning did.
#[derive(Debug, Clone)]
pub struct Report {
    /// One line per act, for the operator.
    pub steps: Vec<String>,
    /// The directory store's URL without a password (for `origin.toml`).
    pub directory_url: String,
    /// The vault store's URL without a password.
    pub vault_url: String,
    /// The same URLs with the passwords, for whoever keeps them secret.
    pub directory_url_with_password: SecretString,
    /// See [`Report::directory_url_with_password`].
    pub vault_url_with_password: SecretString,
    /// `.pgpass` lines (`host:port:database:role:password`) for both roles.
    pub pgpass: SecretString,
}

/// A role or database name that needs no quoting: `[a-z_][a-z0-9_]*`, 1 to 63 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifier(String);

impl Identifier {
    /// Checks a name.
    ///
    /// # Errors
    /// When it is empty, too long, or has anything but lower-case letters, digits and `_`
    /// (or starts with a digit).
    pub fn parse(name: &str) -> anyhow::Result<Self> {
        let first_ok = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_');
        let rest_ok = name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if first_ok && rest_ok && name.len() <= 63 {
            Ok(Self(name.to_owned()))
        } else {
            anyhow::bail!(
                "`{name}` is not a plain PostgreSQL name (lower-case letters, digits, _; at most 63)"
            )
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Identifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Runs the plan.
///
/// # Errors
/// When the admin URL is not PostgreSQL, a connection or statement fails, or a migration fails.
pub async fn provision(plan: &Plan) -> anyhow::Result<Report> {
    use anyhow::Context as _;
    let admin = PgConnectOptions::from_str(plan.admin_url.expose_secret())
        .context("the admin URL is not a PostgreSQL URL")?;
    let mut steps = Vec::new();
    let mut conn = admin.connect().await.context("connecting as the admin")?;
    let superuser: bool =
        sqlx::query_scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&mut conn)
            .await?;
    let stores = [
        (&plan.directory, &plan.vault),
        (&plan.vault, &plan.directory),
    ];
    for (store, _) in stores {
        steps.push(ensure_role(&mut conn, store, superuser).await?);
    }
    for (store, other) in stores {
        // Never let one store's role act as the other.
        let member = sqlx::query(
            "SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid \
             JOIN pg_roles u ON u.oid = m.member WHERE g.rolname = $1 AND u.rolname = $2",
        )
        .bind(other.role.as_str())
        .bind(store.role.as_str())
        .fetch_optional(&mut conn)
        .await?;
        if member.is_some() {
            exec(
                &mut conn,
                &format!("REVOKE {} FROM {}", other.role, store.role),
            )
            .await?;
            steps.push(format!("role {}: removed from {}", store.role, other.role));
        }
    }
    for (store, other) in stores {
        steps.push(ensure_database(&mut conn, store, other).await?);
        close_schema(&admin, store).await?;
    }
    conn.close().await.ok();

    let directory_url = role_url(&plan.admin_url, &plan.directory)?;
    let vault_url = role_url(&plan.admin_url, &plan.vault)?;
    let stores = Stores::open(directory_url.expose_secret(), vault_url.expose_secret())
        .await
        .context("migrating the stores as their roles")?;
    stores.directory.pool().close().await;
    if let Some(pool) = stores.vault.primary_pool() {
        pool.close().await;
    }
    steps.push(format!(
        "migrated {} as {} and {} as {}",
        plan.directory.database, plan.directory.role, plan.vault.database, plan.vault.role
    ));
    let host = admin.get_host().to_owned();
    let port = admin.get_port();
    let pgpass_line = |s: &StorePlan| {
        format!(
            "{host}:{port}:{}:{}:{}\n",
            s.database,
            s.role,
            pgpass_escape(s.password.expose_secret())
        )
    };
    Ok(Report {
        steps,
        directory_url: without_password(&directory_url)?,
        vault_url: without_password(&vault_url)?,
        directory_url_with_password: directory_url,
        vault_url_with_password: vault_url,
        pgpass: SecretString::from(pgpass_line(&plan.directory) + &pgpass_line(&plan.vault)),
    })
}

/// Creates the role or brings an existing one back to exactly the attributes it should have.
async fn ensure_role(
    conn: &mut PgConnection,
    store: &StorePlan,
    admin_is_superuser: bool,
) -> anyhow::Result<String> {
    let exists = sqlx::query("SELECT 1 FROM pg_roles WHERE rolname = $1")
        .bind(store.role.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    let verb = if exists { "ALTER" } else { "CREATE" };
    // The password goes through the server's literal quoting, never through ours.
    let statement: String = sqlx::query_scalar(
        "SELECT format('%s ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE \
         NOREPLICATION NOBYPASSRLS INHERIT PASSWORD %L', $1::text, $2::text, $3::text)",
    )
    .bind(verb)
    .bind(store.role.as_str())
    .bind(store.password.expose_secret())
    .fetch_one(&mut *conn)
    .await?;
    exec(conn, &statement).await?;
    if !admin_is_superuser {
        // PostgreSQL lets a role create a database owned by another only as its member.
        exec(conn, &format!("GRANT {} TO current_user", store.role)).await?;
    }
    Ok(format!(
        "role {}: {}",
        store.role,
        if exists {
            "exists; attributes and password set"
        } else {
            "created"
        }
    ))
}

/// Creates the database owned by its role (or hands an existing one to it) and closes it to
/// everyone else.
async fn ensure_database(
    conn: &mut PgConnection,
    store: &StorePlan,
    other: &StorePlan,
) -> anyhow::Result<String> {
    let exists = sqlx::query("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(store.database.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .is_some();
    let (db, role) = (&store.database, &store.role);
    if exists {
        exec(conn, &format!("ALTER DATABASE {db} OWNER TO {role}")).await?;
    } else {
        exec(conn, &format!("CREATE DATABASE {db} OWNER {role}")).await?;
    }
    exec(conn, &format!("REVOKE ALL ON DATABASE {db} FROM PUBLIC")).await?;
    exec(
        conn,
        &format!("REVOKE ALL ON DATABASE {db} FROM {}", other.role),
    )
    .await?;
    Ok(format!(
        "database {db}: {}, owned by {role}, closed to PUBLIC",
        if exists { "exists" } else { "created" }
    ))
}

/// Inside the store's database: its `public` schema belongs to the role and PUBLIC loses
/// every right on it (PostgreSQL before 15 grants CREATE there to everyone).
async fn close_schema(admin: &PgConnectOptions, store: &StorePlan) -> anyhow::Result<()> {
    let mut conn = admin
        .clone()
        .database(store.database.as_str())
        .connect()
        .await?;
    exec(
        &mut conn,
        &format!("ALTER SCHEMA public OWNER TO {}", store.role),
    )
    .await?;
    exec(&mut conn, "REVOKE ALL ON SCHEMA public FROM PUBLIC").await?;
    conn.close().await.ok();
    Ok(())
}

async fn exec(conn: &mut PgConnection, statement: &str) -> anyhow::Result<()> {
    use anyhow::Context as _;
    // Statements here carry names only (passwords come quoted by the server), so naming the
    // failed one is safe, except for the role statement, which is never echoed.
    let shown = if statement.contains(" PASSWORD ") {
        "the role statement"
    } else {
        statement
    };
    conn.execute(statement)
        .await
        .map(drop)
        .with_context(|| format!("running `{shown}`"))
}

/// The admin URL with the role's name, password and database.
fn role_url(admin_url: &SecretString, store: &StorePlan) -> anyhow::Result<SecretString> {
    let mut url = url::Url::parse(admin_url.expose_secret())
        .map_err(|_| anyhow::anyhow!("the admin URL is not a URL"))?;
    let bad = || anyhow::anyhow!("the admin URL cannot carry a user name");
    url.set_username(store.role.as_str()).map_err(|()| bad())?;
    url.set_password(Some(store.password.expose_secret()))
        .map_err(|()| bad())?;
    url.set_path(store.database.as_str());
    Ok(SecretString::from(String::from(url)))
}

fn without_password(url: &SecretString) -> anyhow::Result<String> {
    let mut url = url::Url::parse(url.expose_secret())
        .map_err(|_| anyhow::anyhow!("a store URL is not a URL"))?;
    url.set_password(None)
        .map_err(|()| anyhow::anyhow!("a store URL cannot drop its password"))?;
    Ok(url.into())
}

/// `.pgpass` fields escape `:` and `\` with a backslash.
fn pgpass_escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace(':', "\\:")
}

/// Whether a role may log in to a database: for tests and for the operator's own check.
///
/// # Errors
/// When the catalogue query fails.
pub async fn can_connect(
    conn: &mut PgConnection,
    role: &Identifier,
    database: &Identifier,
) -> anyhow::Result<bool> {
    let row = sqlx::query("SELECT has_database_privilege($1, $2, 'CONNECT') AS ok")
        .bind(role.as_str())
        .bind(database.as_str())
        .fetch_one(conn)
        .await?;
    Ok(row.try_get("ok")?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn percent_decode(s: &str) -> String {
        let mut out = Vec::new();
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn only_plain_lower_case_names_are_identifiers() {
        for ok in ["lasthop_vault", "_x", "a1"] {
            assert!(Identifier::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1a", "Vault", "a-b", "a;drop", "a b", &"x".repeat(64)] {
            assert!(Identifier::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn role_urls_take_the_admins_host_and_options_and_drop_the_password_for_printing() {
        let store = StorePlan {
            role: Identifier::parse("lasthop_vault").unwrap(),
            database: Identifier::parse("lasthop_vault").unwrap(),
            password: SecretString::from("p@ss:w/rd"),
        };
        let admin =
            SecretString::from("postgres://admin:secret@db.internal:6543/postgres?sslmode=require");
        let url = role_url(&admin, &store).unwrap();
        assert_eq!(
            without_password(&url).unwrap(),
            "postgres://lasthop_vault@db.internal:6543/lasthop_vault?sslmode=require"
        );
        let parsed = PgConnectOptions::from_str(url.expose_secret()).unwrap();
        assert_eq!(parsed.get_username(), "lasthop_vault");
        assert_eq!(parsed.get_database(), Some("lasthop_vault"));
        let with_password = url::Url::parse(url.expose_secret()).unwrap();
        assert_eq!(
            percent_decode(with_password.password().unwrap()),
            "p@ss:w/rd"
        );
        assert!(!url.expose_secret().contains("secret"));
        assert_eq!(pgpass_escape("a:b\\c"), "a\\:b\\\\c");
    }
}
