//! A small reader of Linux `/proc`: which processes exist, their parents and process groups.
//! The launchers use it to know when a process group is really gone; tests use it to prove that
//! stopping leaves no lasthop, wrangler or workerd process behind.

use std::path::Path;

/// One process as `/proc/<pid>/stat` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcInfo {
    /// Process id.
    pub pid: i32,
    /// Parent process id.
    pub ppid: i32,
    /// Process group id.
    pub pgid: i32,
    /// State letter (`R`, `S`, `Z` for a zombie, ...).
    pub state: char,
    /// Start time in clock ticks after boot: with `pid`, identifies a process even if its id is
    /// reused later.
    pub start_time: u64,
    /// The executable's short name.
    pub comm: String,
    /// The full command line (empty for zombies).
    pub cmdline: String,
}

impl ProcInfo {
    /// A dead process that its parent has not reaped yet.
    pub fn is_zombie(&self) -> bool {
        self.state == 'Z'
    }

    /// Whether this very process (same pid and start time) still exists and is not a zombie.
    pub fn is_alive(&self) -> bool {
        info(self.pid).is_some_and(|now| now.start_time == self.start_time && !now.is_zombie())
    }
}

/// The process with this id, if it exists.
pub fn info(pid: i32) -> Option<ProcInfo> {
    let dir = Path::new("/proc").join(pid.to_string());
    let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
    let mut parsed = parse_stat(&stat)?;
    parsed.cmdline = std::fs::read(dir.join("cmdline"))
        .map(|raw| {
            String::from_utf8_lossy(&raw)
                .split('\0')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default();
    Some(parsed)
}

/// Every process visible in `/proc`.
pub fn all() -> Vec<ProcInfo> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(info)
        .collect()
}

/// All processes below `pid` (children, their children, ...), not including `pid` itself.
pub fn descendants(pid: i32) -> Vec<ProcInfo> {
    let everyone = all();
    let mut found: Vec<ProcInfo> = Vec::new();
    let mut frontier = vec![pid];
    while let Some(parent) = frontier.pop() {
        for p in everyone.iter().filter(|p| p.ppid == parent) {
            if !found.iter().any(|f| f.pid == p.pid) {
                frontier.push(p.pid);
                found.push(p.clone());
            }
        }
    }
    found
}

/// All processes whose process group is `pgid`.
pub fn group_members(pgid: i32) -> Vec<ProcInfo> {
    all().into_iter().filter(|p| p.pgid == pgid).collect()
}

/// Parse the `stat` line. The command name sits in parentheses and may itself contain spaces
/// and parentheses, so the fields are read after the last `)`.
fn parse_stat(stat: &str) -> Option<ProcInfo> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let pid = stat[..open].trim().parse().ok()?;
    let comm = stat.get(open + 1..close)?.to_string();
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    Some(ProcInfo {
        pid,
        state: fields.first()?.chars().next()?,
        ppid: fields.get(1)?.parse().ok()?,
        pgid: fields.get(2)?.parse().ok()?,
        start_time: fields.get(19)?.parse().ok()?,
        comm,
        cmdline: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_stat_reads_fields_after_a_command_name_with_spaces_and_parentheses() {
        let line =
            "4242 (we (ird) name) S 1 4242 4242 0 -1 4194560 10 0 0 0 1 2 0 0 20 0 1 0 987654 0 0";
        let p = parse_stat(line).unwrap();
        assert_eq!(p.pid, 4242);
        assert_eq!(p.comm, "we (ird) name");
        assert_eq!(p.state, 'S');
        assert_eq!(p.ppid, 1);
        assert_eq!(p.pgid, 4242);
        assert_eq!(p.start_time, 987654);
    }

    #[test]
    fn this_process_is_alive_and_its_spawned_child_is_a_descendant() {
        let me = info(std::process::id() as i32).unwrap();
        assert!(me.is_alive());
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let kids = descendants(me.pid);
        assert!(kids.iter().any(|k| k.pid == child.id() as i32));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(info(child.id() as i32).is_none_or(|p| p.start_time != 0 && !p.is_alive()));
    }
}
