//! What the origin and edge launchers share: a state directory made absolute, a port chosen
//! when none is given, and a [`Service`] — one named child process group that logs to a file,
//! counts as started once its `/healthz` answers 200, and is stopped as a group.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use crate::group::ProcessGroup;
use crate::http::wait_until_healthy;
use crate::{free_port, LaunchError};

/// Creates `dir` when missing and returns it absolute, so that paths handed to a child (SQLite
/// URLs, generated configs) do not depend on the child's working directory.
pub(crate) fn prepare_state_dir(dir: &Path) -> Result<PathBuf, LaunchError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| LaunchError::io(format!("creating {}", dir.display()), e))?;
    std::fs::canonicalize(dir)
        .map_err(|e| LaunchError::io(format!("resolving {}", dir.display()), e))
}

/// `http://127.0.0.1:<port>`.
pub(crate) fn loopback_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// `port`, or a free one when it is `None`.
pub(crate) fn port_or_free(port: Option<u16>) -> Result<u16, LaunchError> {
    match port {
        Some(port) => Ok(port),
        None => free_port(),
    }
}

/// Run a short helper command; its stdout on success.
pub(crate) fn run_to_completion(command: &mut Command, name: &str) -> Result<String, LaunchError> {
    let output = command
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| LaunchError::io(format!("running {name}"), e))?;
    if !output.status.success() {
        return Err(LaunchError::Command {
            command: name.to_string(),
            detail: format!(
                "{}\n{}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A named service process: its log file, its readiness URL and, while it runs, its process
/// group. Dropping it stops the group.
#[derive(Debug)]
pub(crate) struct Service {
    /// `origin` or `edge`, for errors.
    name: &'static str,
    log: PathBuf,
    health_url: String,
    /// TLS for an `https://` health URL.
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    group: Option<ProcessGroup>,
}

impl Service {
    /// A service that is not running yet.
    pub(crate) fn new(name: &'static str, log: PathBuf, health_url: String) -> Self {
        Self {
            name,
            log,
            health_url,
            tls: None,
            group: None,
        }
    }

    /// The same, probing an `https://` health URL with `tls`.
    pub(crate) fn with_tls(mut self, tls: Option<std::sync::Arc<rustls::ClientConfig>>) -> Self {
        self.tls = tls;
        self
    }

    /// Start `command` as a new process group logging to the log file and wait until the
    /// health URL answers 200. On failure the group is stopped again.
    ///
    /// # Errors
    /// When the command cannot start, exits early, is cancelled or is not ready in `timeout`.
    pub(crate) fn start(
        &mut self,
        command: Command,
        timeout: Duration,
        cancel: Option<&AtomicBool>,
    ) -> Result<(), LaunchError> {
        let mut group = ProcessGroup::spawn(self.name, command, &self.log)?;
        wait_until_healthy(
            &mut group,
            self.name,
            &self.health_url,
            self.tls.as_ref(),
            &self.log,
            timeout,
            cancel,
        )?;
        self.group = Some(group);
        Ok(())
    }

    /// The log file (stdout and stderr of every start, appended).
    pub(crate) fn log_path(&self) -> &Path {
        &self.log
    }

    /// Everything logged so far (empty when the file cannot be read).
    pub(crate) fn logs(&self) -> String {
        std::fs::read(&self.log)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The leader's process id (also its process group id), while it runs.
    pub(crate) fn pid(&self) -> Option<i32> {
        self.group.as_ref().map(ProcessGroup::pid)
    }

    /// Whether the leader is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        self.group
            .as_mut()
            .is_some_and(|g| g.exit_status().is_none())
    }

    /// `kill -9` of the group, without warning. Idempotent.
    pub(crate) fn kill(&mut self) {
        if let Some(mut group) = self.group.take() {
            group.kill();
        }
    }

    /// Stop the group (SIGTERM, SIGKILL after a grace period). Idempotent.
    pub(crate) fn stop(&mut self) {
        if let Some(mut group) = self.group.take() {
            group.stop();
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("lasthop-e2e-service-{}-{name}", std::process::id()))
    }

    #[test]
    fn a_child_that_exits_before_it_is_healthy_is_reported_with_its_log() {
        let dir = prepare_state_dir(&temp_dir("exits")).unwrap();
        assert!(dir.is_absolute());
        let mut command = Command::new("sh");
        command.args(["-c", "echo dying-words; exit 3"]);
        // Port 9 (discard) on loopback never answers HTTP 200.
        let mut service = Service::new(
            "short-lived",
            dir.join("short.log"),
            "http://127.0.0.1:9/healthz".into(),
        );
        let err = service
            .start(command, Duration::from_secs(30), None)
            .unwrap_err();
        match err {
            LaunchError::Exited { name, detail } => {
                assert_eq!(name, "short-lived");
                assert!(detail.contains("dying-words"), "{detail}");
            }
            other => panic!("expected Exited, got {other:?}"),
        }
        assert_eq!(service.pid(), None);
        assert!(!service.is_running());
        assert!(service.logs().contains("dying-words"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_given_port_is_kept_and_a_missing_one_is_chosen() {
        assert_eq!(port_or_free(Some(4321)).unwrap(), 4321);
        assert_ne!(port_or_free(None).unwrap(), 0);
    }
}
