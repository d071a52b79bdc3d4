//! What the terminal keeps on disk, all in its state folder and readable by its user only
//! (files 0600, folder 0700):
//!
//! - `device.json`: the device's private keys and, once ops issued it, the scanner's credential;
//! - `recipients/<release_id>.json`: a recipient opened at the final hop, with its
//!   `erase_after`. It is erased (overwritten with zeros, synced, then removed) when the
//!   parcel is delivered, and by [`State::purge_expired`] once `erase_after` has passed —
//!   which every command runs first.

use std::fs::{self, File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use lasthop_core::api::Recipient;
use lasthop_core::device::DeviceKeys;
use lasthop_core::ids::{OrderId, ReleaseId};
use lasthop_core::time::Timestamp;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::scan::OpenedRecipient;

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// No device yet.
    #[error("this terminal has no device keys yet: run `enroll` first")]
    NotEnrolled,
    /// Keys exist already.
    #[error("this terminal is enrolled already; its keys are kept")]
    AlreadyEnrolled,
    /// No credential yet.
    #[error("no scanner credential yet: run `set-token` with the one ops issued")]
    NoToken,
    /// A state file does not parse.
    #[error("a state file is damaged: {0}")]
    Damaged(&'static str),
}

fn io(what: &'static str) -> impl FnOnce(std::io::Error) -> StateError {
    move |source| StateError::Io { what, source }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceFile {
    sign_seed: String,
    box_secret: String,
    token: Option<String>,
}

/// A recipient kept until delivery.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeptRecipient {
    order_id: OrderId,
    release_id: ReleaseId,
    erase_after: Timestamp,
    recipient: Recipient,
}

/// The terminal's state folder.
#[derive(Debug, Clone)]
pub struct State {
    dir: PathBuf,
}

impl State {
    /// The state in `dir` (created 0700 if missing).
    ///
    /// # Errors
    /// When the folder cannot be created.
    pub fn open(dir: &Path) -> Result<Self, StateError> {
        fs::create_dir_all(dir.join("recipients")).map_err(io("creating the state folder"))?;
        for folder in [dir.to_path_buf(), dir.join("recipients")] {
            fs::set_permissions(&folder, fs::Permissions::from_mode(0o700))
                .map_err(io("restricting the state folder"))?;
        }
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    fn device_path(&self) -> PathBuf {
        self.dir.join("device.json")
    }

    fn recipient_path(&self, release_id: &ReleaseId) -> PathBuf {
        self.dir
            .join("recipients")
            .join(format!("{}.json", release_id.as_str()))
    }

    /// Makes the device's keys and stores them (0600). Refuses to replace existing keys.
    ///
    /// # Errors
    /// [`StateError::AlreadyEnrolled`], or an I/O failure.
    pub fn enroll(
        &self,
        rng: &mut (impl rand::RngCore + rand::CryptoRng),
    ) -> Result<DeviceKeys, StateError> {
        if self.device_path().exists() {
            return Err(StateError::AlreadyEnrolled);
        }
        let keys = DeviceKeys::generate(rng);
        self.write_device(&keys, None)?;
        Ok(keys)
    }

    /// The device's keys.
    ///
    /// # Errors
    /// [`StateError::NotEnrolled`], or a damaged file.
    pub fn keys(&self) -> Result<DeviceKeys, StateError> {
        let file = self.read_device()?;
        let seed = decode32(&file.sign_seed)?;
        let boxing = decode32(&file.box_secret)?;
        Ok(DeviceKeys::from_bytes(&seed, *boxing))
    }

    /// The scanner credential ops issued for this device.
    ///
    /// # Errors
    /// [`StateError::NoToken`], [`StateError::NotEnrolled`], or a damaged file.
    pub fn token(&self) -> Result<Zeroizing<String>, StateError> {
        self.read_device()?
            .token
            .map(Zeroizing::new)
            .ok_or(StateError::NoToken)
    }

    /// Stores the scanner credential (also a renewed one).
    ///
    /// # Errors
    /// [`StateError::NotEnrolled`], or an I/O failure.
    pub fn set_token(&self, token: &str) -> Result<(), StateError> {
        let keys = self.keys()?;
        self.write_device(&keys, Some(token.trim()))
    }

    fn read_device(&self) -> Result<DeviceFile, StateError> {
        let text = match fs::read(self.device_path()) {
            Ok(text) => Zeroizing::new(text),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Err(StateError::NotEnrolled)
            }
            Err(err) => return Err(io("reading device.json")(err)),
        };
        serde_json::from_slice(&text).map_err(|_| StateError::Damaged("device.json"))
    }

    fn write_device(&self, keys: &DeviceKeys, token: Option<&str>) -> Result<(), StateError> {
        let (seed, boxing) = keys.to_bytes();
        let file = DeviceFile {
            sign_seed: URL_SAFE_NO_PAD.encode(*seed),
            box_secret: URL_SAFE_NO_PAD.encode(*boxing),
            token: token.map(str::to_owned),
        };
        let text = Zeroizing::new(serde_json::to_vec(&file).unwrap_or_default());
        write_private(&self.device_path(), &text, "writing device.json")
    }

    /// Keeps an opened recipient until delivery or its `erase_after` (0600).
    ///
    /// # Errors
    /// An I/O failure.
    pub fn keep(&self, order_id: &OrderId, opened: &OpenedRecipient) -> Result<(), StateError> {
        let kept = KeptRecipient {
            order_id: order_id.clone(),
            release_id: opened.release_id.clone(),
            erase_after: opened.erase_after,
            recipient: opened.recipient.clone(),
        };
        let text = Zeroizing::new(serde_json::to_vec(&kept).unwrap_or_default());
        write_private(
            &self.recipient_path(&opened.release_id),
            &text,
            "keeping the recipient",
        )
    }

    /// The kept recipient of a release, if it is still kept.
    ///
    /// # Errors
    /// An I/O failure or a damaged file.
    pub fn kept(&self, release_id: &ReleaseId) -> Result<Option<Recipient>, StateError> {
        match fs::read(self.recipient_path(release_id)) {
            Ok(text) => {
                let text = Zeroizing::new(text);
                let kept: KeptRecipient = serde_json::from_slice(&text)
                    .map_err(|_| StateError::Damaged("a kept recipient"))?;
                Ok(Some(kept.recipient))
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(io("reading a kept recipient")(err)),
        }
    }

    /// The release a recipient is kept for, for an order (what `deliver` closes).
    ///
    /// # Errors
    /// An I/O failure.
    pub fn release_of(&self, order_id: &OrderId) -> Result<Option<ReleaseId>, StateError> {
        for (path, kept) in self.kept_files()? {
            let _ = path;
            if kept.order_id == *order_id {
                return Ok(Some(kept.release_id));
            }
        }
        Ok(None)
    }

    /// Erases a release's recipient: overwritten with zeros, synced, removed.
    ///
    /// # Errors
    /// An I/O failure.
    pub fn erase(&self, release_id: &ReleaseId) -> Result<(), StateError> {
        erase_file(&self.recipient_path(release_id))
    }

    /// Erases every kept recipient whose `erase_after` is not after `now`; returns how many.
    ///
    /// # Errors
    /// An I/O failure.
    pub fn purge_expired(&self, now: Timestamp) -> Result<usize, StateError> {
        let mut erased = 0;
        for (path, kept) in self.kept_files()? {
            if kept.erase_after <= now {
                erase_file(&path)?;
                erased += 1;
            }
        }
        Ok(erased)
    }

    fn kept_files(&self) -> Result<Vec<(PathBuf, KeptRecipient)>, StateError> {
        let mut found = Vec::new();
        let entries =
            fs::read_dir(self.dir.join("recipients")).map_err(io("listing recipients"))?;
        for entry in entries {
            let path = entry.map_err(io("listing recipients"))?.path();
            let text = Zeroizing::new(fs::read(&path).map_err(io("reading a kept recipient"))?);
            match serde_json::from_slice::<KeptRecipient>(&text) {
                Ok(kept) => found.push((path, kept)),
                // Unreadable: nothing can tell when it expires, so it goes now.
                Err(_) => erase_file(&path)?,
            }
        }
        Ok(found)
    }
}

fn decode32(text: &str) -> Result<Zeroizing<[u8; 32]>, StateError> {
    let bytes = Zeroizing::new(
        URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| StateError::Damaged("device.json"))?,
    );
    let mut out = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return Err(StateError::Damaged("device.json"));
    }
    out.copy_from_slice(&bytes);
    Ok(out)
}

/// Writes a file readable by its owner only, replacing it atomically.
fn write_private(path: &Path, bytes: &[u8], what: &'static str) -> Result<(), StateError> {
    let temporary = path.with_extension("tmp");
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(io(what))?;
    // `mode` applies only when the file is created: make sure of it either way.
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(io(what))?;
    file.write_all(bytes).map_err(io(what))?;
    file.sync_all().map_err(io(what))?;
    fs::rename(&temporary, path).map_err(io(what))
}

/// Overwrites a file with zeros, syncs it, and removes it. Absent is erased already.
fn erase_file(path: &Path) -> Result<(), StateError> {
    let length = match fs::metadata(path) {
        Ok(meta) => meta.len(),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(io("erasing a recipient")(err)),
    };
    let mut file: File = OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io("erasing a recipient"))?;
    let zeros = vec![0u8; usize::try_from(length).unwrap_or(0)];
    file.write_all(&zeros).map_err(io("erasing a recipient"))?;
    file.sync_all().map_err(io("erasing a recipient"))?;
    fs::remove_file(path).map_err(io("erasing a recipient"))
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;

    fn recipient() -> Recipient {
        Recipient {
            name: "Wang Fang".into(),
            phone: "+86 139 0000 0000".into(),
            country: "CN".into(),
            region: "110105".into(),
            line: "8 Jianguo Road".into(),
            postal_code: "100020".into(),
        }
    }

    #[test]
    fn keys_and_token_live_in_a_file_only_its_owner_reads() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(dir.path()).unwrap();
        assert!(matches!(state.keys(), Err(StateError::NotEnrolled)));
        let keys = state.enroll(&mut StdRng::seed_from_u64(1)).unwrap();
        assert!(matches!(
            state.enroll(&mut StdRng::seed_from_u64(2)),
            Err(StateError::AlreadyEnrolled)
        ));
        assert_eq!(state.keys().unwrap().public(), keys.public());
        assert!(matches!(state.token(), Err(StateError::NoToken)));
        state.set_token("lh1.a.b\n").unwrap();
        assert_eq!(state.token().unwrap().as_str(), "lh1.a.b");
        let mode = fs::metadata(dir.path().join("device.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let folder = fs::metadata(dir.path()).unwrap().permissions().mode();
        assert_eq!(folder & 0o777, 0o700);
    }

    #[test]
    fn a_recipient_is_kept_until_delivery_or_erase_after_and_then_leaves_no_trace() {
        let dir = tempfile::tempdir().unwrap();
        let state = State::open(dir.path()).unwrap();
        let order = OrderId::parse("o_0123456789abcdef").unwrap();
        let release = ReleaseId::parse("r_0123456789abcdef").unwrap();
        let opened = OpenedRecipient {
            release_id: release.clone(),
            erase_after: Timestamp::from_unix_seconds(1_000),
            recipient: recipient(),
        };
        state.keep(&order, &opened).unwrap();
        assert_eq!(state.kept(&release).unwrap(), Some(recipient()));
        assert_eq!(state.release_of(&order).unwrap(), Some(release.clone()));
        let path = dir.path().join("recipients/r_0123456789abcdef.json");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Not yet expired: kept.
        assert_eq!(
            state
                .purge_expired(Timestamp::from_unix_seconds(999))
                .unwrap(),
            0
        );
        // Expired: gone.
        assert_eq!(
            state
                .purge_expired(Timestamp::from_unix_seconds(1_000))
                .unwrap(),
            1
        );
        assert_eq!(state.kept(&release).unwrap(), None);
        // Delivery erases at once.
        state.keep(&order, &opened).unwrap();
        state.erase(&release).unwrap();
        assert!(!path.exists());
        state.erase(&release).unwrap();
        for entry in walk(dir.path()) {
            let bytes = fs::read(entry).unwrap();
            assert!(!bytes.windows(9).any(|w| w == b"Wang Fang"));
        }
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut files = Vec::new();
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
        files
    }
}
