//! OS-level process helpers for the supervisor: finding a program on `PATH`, telling whether a pid is still
//! the process we started (pid plus its start time, so a recycled pid is never mistaken for ours), and
//! signalling a process group.

use std::path::{Path, PathBuf};

/// A signal the supervisor sends when stopping a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// `SIGTERM`: asks the process to shut down.
    Term,
    /// `SIGKILL`: ends it at once.
    Kill,
}

impl StopSignal {
    /// The signal's name (`SIGTERM`, `SIGKILL`).
    pub fn name(self) -> &'static str {
        match self {
            StopSignal::Term => "SIGTERM",
            StopSignal::Kill => "SIGKILL",
        }
    }

    #[cfg(unix)]
    fn os(self) -> rustix::process::Signal {
        match self {
            StopSignal::Term => rustix::process::Signal::TERM,
            StopSignal::Kill => rustix::process::Signal::KILL,
        }
    }
}

/// The path of a program: `name_or_path` itself when it contains a `/` (relative paths are taken from the
/// current directory), else the first executable file of that name in a `PATH` directory. `None` when there
/// is no such executable file.
pub fn find_program(name_or_path: &Path) -> Option<PathBuf> {
    let text = name_or_path.as_os_str();
    if text.is_empty() {
        return None;
    }
    if name_or_path.components().count() > 1 || name_or_path.is_absolute() {
        let full = if name_or_path.is_absolute() {
            name_or_path.to_path_buf()
        } else {
            std::env::current_dir().ok()?.join(name_or_path)
        };
        return is_executable(&full).then_some(full);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name_or_path))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// What `/proc/<pid>/stat` says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    /// The state letter (`R`, `S`, `D`, `Z` zombie, `X` dead, …).
    pub state: char,
    /// Field 5, its process group.
    pub pgrp: u32,
    /// Field 22, the start time in clock ticks after boot: with the pid, it identifies one process for the
    /// machine's uptime.
    pub start_time: u64,
}

/// Reads `/proc/<pid>/stat`; `None` when the process does not exist (or there is no `/proc`).
pub fn proc_stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

/// Parses the text of `/proc/<pid>/stat`. The command name (field 2) may hold spaces and parentheses, so
/// the fields are counted from its last `)`.
fn parse_stat(text: &str) -> Option<ProcStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    // `rest` begins at field 3 (state)
    let state = fields.next()?.chars().next()?;
    let pgrp = fields.nth(1)?.parse().ok()?;
    // field 22 is 17 after field 5
    let start_time = fields.nth(16)?.parse().ok()?;
    Some(ProcStat {
        state,
        pgrp,
        start_time,
    })
}

/// The start time (field 22 of `/proc/<pid>/stat`) of `pid`, `None` when it does not exist.
pub fn start_time(pid: u32) -> Option<u64> {
    proc_stat(pid).map(|s| s.start_time)
}

/// Whether `pid` exists, is not a zombie, and (when `start_time` is given) started at that time, i.e. is
/// still the process that was recorded and not a later one that got the same pid.
pub fn is_alive(pid: u32, start_time: Option<u64>) -> bool {
    if pid == 0 || i32::try_from(pid).is_err() {
        return false;
    }
    match proc_stat(pid) {
        Some(stat) => {
            !matches!(stat.state, 'Z' | 'X' | 'x')
                && start_time.is_none_or(|want| want == stat.start_time)
        }
        // no /proc (not Linux): only the pid can be checked
        None if !Path::new("/proc/self/stat").exists() => pid_exists(pid),
        None => false,
    }
}

/// Whether a process with this pid exists (any state, any owner).
pub fn pid_exists(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Some(p) = to_pid(pid) else {
            return false;
        };
        match rustix::process::test_kill_process(p) {
            Ok(()) => true,
            Err(e) => e == rustix::io::Errno::PERM,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        false
    }
}

/// Whether the process group `pgid` still has members (zombies count).
pub fn group_exists(pgid: u32) -> bool {
    #[cfg(unix)]
    {
        let Some(p) = to_pid(pgid) else {
            return false;
        };
        match rustix::process::test_kill_process_group(p) {
            Ok(()) => true,
            Err(e) => e == rustix::io::Errno::PERM,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = pgid;
        false
    }
}

/// Whether group `pgid` has a member that is not a zombie (scans `/proc`; falls back to
/// [`group_exists`] where there is none).
pub fn group_alive(pgid: u32) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return group_exists(pgid);
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(proc_stat)
        .any(|s| s.pgrp == pgid && !matches!(s.state, 'Z' | 'X' | 'x'))
}

/// Sends `sig` to every process of group `pgid`. `Ok(false)` when the group no longer exists.
pub fn signal_group(pgid: u32, sig: StopSignal) -> std::io::Result<bool> {
    #[cfg(unix)]
    {
        let p = to_pid(pgid).ok_or_else(|| bad_pid(pgid))?;
        match rustix::process::kill_process_group(p, sig.os()) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::SRCH) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (pgid, sig);
        Err(std::io::Error::other("process groups need a Unix system"))
    }
}

/// Sends `sig` to the single process `pid`. `Ok(false)` when it no longer exists.
pub fn signal_process(pid: u32, sig: StopSignal) -> std::io::Result<bool> {
    #[cfg(unix)]
    {
        let p = to_pid(pid).ok_or_else(|| bad_pid(pid))?;
        match rustix::process::kill_process(p, sig.os()) {
            Ok(()) => Ok(true),
            Err(rustix::io::Errno::SRCH) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (pid, sig);
        Err(std::io::Error::other("signals need a Unix system"))
    }
}

/// A pid as rustix wants it; `None` for 0 and values beyond `i32` (which would address groups or everyone).
#[cfg(unix)]
fn to_pid(pid: u32) -> Option<rustix::process::Pid> {
    let raw = i32::try_from(pid).ok().filter(|p| *p > 1)?;
    rustix::process::Pid::from_raw(raw)
}

#[cfg(unix)]
fn bad_pid(pid: u32) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("refusing to signal pid {pid}"),
    )
}

/// A signal number's name, for messages (`9` → `SIGKILL`).
pub fn signal_name(sig: i32) -> String {
    let name = match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        _ => return format!("signal {sig}"),
    };
    name.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_command_name() {
        let line = "1234 (a (b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10 \
                    18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        let s = parse_stat(line).unwrap();
        assert_eq!(s.state, 'S');
        assert_eq!(s.start_time, 987654);
        assert_eq!(s.pgrp, 1234);
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn own_process_is_alive_with_its_start_time_only() {
        let me = std::process::id();
        let st = start_time(me).unwrap();
        assert!(is_alive(me, Some(st)));
        assert!(is_alive(me, None));
        assert!(!is_alive(me, Some(st + 1)));
        let pgrp = proc_stat(me).unwrap().pgrp;
        assert!(group_alive(pgrp));
        assert!(group_exists(pgrp));
        assert!(!is_alive(0, None));
        assert!(!is_alive(u32::MAX, None));
    }

    #[test]
    fn programs_are_found_on_path_or_by_path() {
        let sh = find_program(Path::new("sh")).unwrap();
        assert!(sh.is_absolute());
        assert_eq!(
            find_program(Path::new("/bin/sh")),
            Some(PathBuf::from("/bin/sh"))
        );
        assert!(find_program(Path::new("surely-no-such-program-xyz")).is_none());
        assert!(find_program(Path::new("/nonexistent/bin/x")).is_none());
        // a directory is not a program
        assert!(find_program(Path::new("/tmp")).is_none());
        assert!(find_program(Path::new("")).is_none());
    }

    #[test]
    fn refuses_to_signal_special_pids() {
        assert!(signal_group(0, StopSignal::Term).is_err());
        assert!(signal_process(1, StopSignal::Term).is_err());
        assert!(signal_process(u32::MAX, StopSignal::Term).is_err());
    }
}
