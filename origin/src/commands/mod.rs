//! The non-serving subcommands: `keygen`, `edge-secrets`, `provision` ([`provision`]),
//! `audit` ([`audit`]) and `keys` ([`keys`]).

pub mod audit;
pub mod keys;
pub mod provision;

use std::io::Write as _;
use std::path::{Path, PathBuf};

use lasthop_core::keys::{EdgeSecrets, MasterKeyRing, OriginKeys};
use rand::rngs::OsRng;
use rand::RngCore as _;
use zeroize::Zeroizing;

/// What `keygen` did with each file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeygenReport {
    /// `(path, written)`: written is false when the file already existed and was kept.
    pub files: Vec<(PathBuf, bool)>,
}

/// Writes `dir/master.keys` and `dir/ops.token` (mode 0600) unless they exist: running it
/// again never replaces a key.
///
/// # Errors
/// When the folder or a file cannot be created.
pub fn keygen(dir: &Path) -> anyhow::Result<KeygenReport> {
    use anyhow::Context as _;
    std::fs::create_dir_all(dir).context("creating the key folder")?;
    let ring = MasterKeyRing::generate(&mut OsRng).to_text();
    let mut token_bytes = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(token_bytes.as_mut());
    let token = Zeroizing::new(hex::encode(token_bytes.as_ref()));
    let mut files = Vec::new();
    for (name, content) in [
        ("master.keys", ring.as_str()),
        ("ops.token", token.as_str()),
    ] {
        let path = dir.join(name);
        files.push((
            path.clone(),
            write_new(&path, content).with_context(|| format!("writing {name}"))?,
        ));
    }
    Ok(KeygenReport { files })
}

/// `provision` as the command line gives it: password files read (or written with a new
/// random password when missing), the plan run, the pgpass file written.
///
/// # Errors
/// When a file cannot be read or written, a name is not a plain identifier, or
/// provisioning fails.
pub async fn provision_command(
    args: &crate::config::ProvisionArgs,
) -> anyhow::Result<provision::Report> {
    use anyhow::Context as _;
    use provision::{Identifier, Plan, StorePlan};
    let password = |path: &Path| -> anyhow::Result<secrecy::SecretString> {
        let mut bytes = Zeroizing::new([0u8; 24]);
        OsRng.fill_bytes(bytes.as_mut());
        let fresh = Zeroizing::new(hex::encode(bytes.as_ref()));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).context("creating the password file's folder")?;
        }
        write_new(path, &fresh).with_context(|| format!("writing {}", path.display()))?;
        crate::config::load_secret(Some(path), None, "role password")
    };
    let plan = Plan {
        admin_url: crate::config::load_secret(
            args.admin_url_file.as_deref(),
            args.admin_url.as_ref(),
            "admin URL",
        )?,
        directory: StorePlan {
            role: Identifier::parse(&args.directory_role)?,
            database: Identifier::parse(&args.directory_database)?,
            password: password(&args.directory_password_file)?,
        },
        vault: StorePlan {
            role: Identifier::parse(&args.vault_role)?,
            database: Identifier::parse(&args.vault_database)?,
            password: password(&args.vault_password_file)?,
        },
    };
    let report = provision::provision(&plan).await?;
    if let Some(path) = &args.pgpass_file {
        use secrecy::ExposeSecret as _;
        write_replacing(path, report.pgpass.expose_secret())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(report)
}

/// Writes `path` with `content` (mode 0600 on creation), replacing what was there.
fn write_replacing(path: &Path, content: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)?.write_all(content.as_bytes())
}

/// Creates `path` with `content` unless it exists; returns whether it wrote.
fn write_new(path: &Path, content: &str) -> std::io::Result<bool> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(content.as_bytes())?;
            file.write_all(b"\n")?;
            Ok(true)
        }
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(err) => Err(err),
    }
}

/// The `LASTHOP_EDGE_SECRETS=…` line for the Worker, from the master key ring text.
///
/// # Errors
/// When the key ring does not parse.
pub fn edge_secrets_line(ring_text: &str) -> anyhow::Result<Zeroizing<String>> {
    let ring =
        MasterKeyRing::parse(ring_text).map_err(|e| anyhow::anyhow!("master key ring: {e}"))?;
    let secrets = EdgeSecrets::from_origin_keys(&OriginKeys::derive(&ring));
    Ok(Zeroizing::new(format!(
        "LASTHOP_EDGE_SECRETS={}",
        secrets.encode().as_str()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keygen_twice_keeps_the_first_keys() {
        let dir = tempfile::tempdir().unwrap();
        let first = keygen(dir.path()).unwrap();
        assert!(first.files.iter().all(|(_, written)| *written));
        let keys = std::fs::read_to_string(dir.path().join("master.keys")).unwrap();
        let token = std::fs::read_to_string(dir.path().join("ops.token")).unwrap();
        let second = keygen(dir.path()).unwrap();
        assert!(second.files.iter().all(|(_, written)| !*written));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("master.keys")).unwrap(),
            keys
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("ops.token")).unwrap(),
            token
        );
        assert!(MasterKeyRing::parse(keys.trim()).is_ok());
        assert!(edge_secrets_line(keys.trim())
            .unwrap()
            .starts_with("LASTHOP_EDGE_SECRETS="));
    }
}
