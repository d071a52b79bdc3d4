//! A child process in its own process group, stopped together with everything it spawned.
//!
//! `wrangler dev` is a node process that starts workerd as its own child; killing node alone
//! would orphan workerd. Each child therefore leads a fresh process group and is stopped with
//! `killpg`: SIGTERM to the whole group, SIGKILL after a grace period.
//!
//! This process also becomes a child subreaper, so grandchildren orphaned by a dying leader are
//! re-parented to us and reaped here instead of lingering as zombies (some container inits never
//! reap).

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

use crate::{procfs, LaunchError};

/// How long members get to exit after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

/// A running child leading its own process group, logging to a file.
#[derive(Debug)]
pub(crate) struct ProcessGroup {
    name: String,
    child: Child,
    log: PathBuf,
    exited: Option<std::process::ExitStatus>,
}

impl ProcessGroup {
    /// Start `command` as the leader of a new process group with stdout and stderr appended to
    /// `log` and stdin closed.
    pub(crate) fn spawn(name: &str, mut command: Command, log: &Path) -> Result<Self, LaunchError> {
        become_subreaper();
        let open = || {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .map_err(|e| LaunchError::io(format!("opening log {}", log.display()), e))
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(open()?)
            .stderr(open()?)
            .process_group(0)
            .spawn()
            .map_err(|e| LaunchError::io(format!("starting {name}: {command:?}"), e))?;
        Ok(Self {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
            exited: None,
        })
    }

    /// The leader's process id, which is also the group id.
    pub(crate) fn pid(&self) -> i32 {
        // Linux pids are at most 2^22, far inside i32.
        i32::try_from(self.child.id()).unwrap_or(i32::MAX)
    }

    /// `None` while the leader runs, else how it exited.
    pub(crate) fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }

    /// An error describing an early exit, with the log's tail.
    pub(crate) fn exited_error(&self, status: std::process::ExitStatus) -> LaunchError {
        LaunchError::Exited {
            name: self.name.clone(),
            detail: format!(
                "{status}; last lines of {}:\n{}",
                self.log.display(),
                crate::log_tail(&self.log, 40)
            ),
        }
    }

    /// Stop the whole group: SIGTERM, wait up to the grace period, then SIGKILL; reap the leader
    /// and any orphaned members re-parented to us. Returns once no live member remains.
    pub(crate) fn stop(&mut self) {
        let pgid = Pid::from_raw(self.pid());
        signal_group(pgid, Signal::SIGTERM);
        if !self.wait_until_gone(GRACE) {
            signal_group(pgid, Signal::SIGKILL);
            self.wait_until_gone(GRACE);
        }
    }

    /// `kill -9` of the whole group, as a crash would end it; returns once it is gone.
    pub(crate) fn kill(&mut self) {
        signal_group(Pid::from_raw(self.pid()), Signal::SIGKILL);
        self.wait_until_gone(GRACE);
    }

    /// Poll until the leader is reaped and no non-zombie member is left; `false` on timeout.
    fn wait_until_gone(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            self.exit_status();
            let me = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
            let mut live = 0;
            for member in procfs::group_members(self.pid()) {
                if member.is_zombie() {
                    // Ours to reap when it was orphaned to us; the leader is reaped via `Child`.
                    if member.ppid == me && member.pid != self.pid() {
                        let _ = waitpid(Pid::from_raw(member.pid), Some(WaitPidFlag::WNOHANG));
                    }
                } else {
                    live += 1;
                }
            }
            if self.exited.is_some() && live == 0 {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.stop();
    }
}

fn signal_group(pgid: Pid, signal: Signal) {
    match killpg(pgid, signal) {
        // ESRCH: the group is already empty, which is what we want.
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(e) => eprintln!("lasthop-e2e: killpg({pgid}, {signal}) failed: {e}"),
    }
}

pub(crate) fn become_subreaper() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
            eprintln!(
                "lasthop-e2e: cannot become a child subreaper ({e}); orphans may linger as zombies"
            );
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_log(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lasthop-e2e-group-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn stop_ends_the_leader_and_the_grandchild_it_started() {
        // The shell starts a background sleep (like node starting workerd) and waits.
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 300 & echo started; wait"]);
        let log = temp_log("grandchild.log");
        let mut group = ProcessGroup::spawn("sh", cmd, &log).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while procfs::descendants(group.pid()).is_empty() {
            assert!(Instant::now() < deadline, "the shell never started sleep");
            std::thread::sleep(Duration::from_millis(20));
        }
        let before: Vec<procfs::ProcInfo> = procfs::group_members(group.pid());
        assert!(before.len() >= 2);
        group.stop();
        assert!(group.exit_status().is_some());
        for p in before {
            assert!(!p.is_alive(), "{p:?} survived stop()");
        }
    }

    #[test]
    fn stop_escalates_to_sigkill_when_sigterm_is_ignored() {
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "trap '' TERM; echo ready; while true; do sleep 0.1; done",
        ]);
        let log = temp_log("stubborn.log");
        let mut group = ProcessGroup::spawn("stubborn", cmd, &log).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        let started = Instant::now();
        group.stop();
        assert!(started.elapsed() >= GRACE);
        assert!(procfs::group_members(group.pid())
            .iter()
            .all(procfs::ProcInfo::is_zombie));
        assert!(group.exit_status().is_some());
    }

    #[test]
    fn output_goes_to_the_log_file() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo to-stdout; echo to-stderr >&2"]);
        let log = temp_log("output.log");
        let _ = std::fs::remove_file(&log);
        let mut group = ProcessGroup::spawn("echo", cmd, &log).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while group.exit_status().is_none() {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(20));
        }
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            text.contains("to-stdout") && text.contains("to-stderr"),
            "{text}"
        );
    }
}
