//! The pid file (spec §15.1) and `-s` signalling.
//!
//! [`PidFile::acquire`] writes `<pid>\n` atomically (temporary file in the
//! same directory, fsync, rename, fsync of the directory). If the file names a
//! live process other than ourselves, it fails with [`PidError::AlreadyRunning`]
//! (`already running …`); a stale file (dead pid, or content that is not a
//! pid) is replaced. Dropping the [`PidFile`] removes the file if it still
//! holds our pid. Note that `std::process::exit` does not run destructors:
//! call [`PidFile::remove`] (or drop the guard) before exiting that way.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::cli::SignalKind;

/// Why the pid file could not be acquired.
#[derive(Debug)]
pub enum PidError {
    /// The file names a live process other than ourselves.
    AlreadyRunning { pid: i32, path: PathBuf },
    /// The file or its directory could not be read, created or written.
    Io { path: PathBuf, action: &'static str, source: io::Error },
}

impl fmt::Display for PidError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PidError::AlreadyRunning { pid, path } => {
                write!(f, "already running (pid {pid}, pid file {})", path.display())
            }
            PidError::Io { path, action, source } => {
                write!(f, "cannot {action} pid file {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for PidError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PidError::Io { source, .. } => Some(source),
            PidError::AlreadyRunning { .. } => None,
        }
    }
}

/// A written pid file; removed on drop.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    pid: u32,
    removed: bool,
}

impl PidFile {
    /// Check and write the pid file at `path`, creating its directory.
    pub fn acquire(path: impl AsRef<Path>) -> Result<PidFile, PidError> {
        let path = path.as_ref().to_path_buf();
        let pid = std::process::id();
        let io_err = |action, source| PidError::Io { path: path.clone(), action, source };
        if let Some(dir) = parent_dir(&path) {
            fs::create_dir_all(dir).map_err(|e| io_err("create the directory of", e))?;
        }
        match fs::read(&path) {
            Ok(content) => {
                if let Some(old) = parse_pid(&content)
                    && old as u32 != pid
                    && process_alive(old)
                {
                    return Err(PidError::AlreadyRunning { pid: old, path });
                }
                // Stale, garbage or ours: replaced below.
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("read", e)),
        }
        write_atomic(&path, format!("{pid}\n").as_bytes()).map_err(|e| io_err("write", e))?;
        Ok(PidFile { path, pid, removed: false })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Remove the file now if it still contains our pid. Idempotent; also
    /// done on drop.
    pub fn remove(&mut self) {
        if self.removed {
            return;
        }
        self.removed = true;
        if let Ok(content) = fs::read(&self.path)
            && parse_pid(&content) == Some(self.pid as i32)
        {
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The directory holding `path`, if it names one (`"x.pid"` has none to create).
fn parent_dir(path: &Path) -> Option<&Path> {
    path.parent().filter(|d| !d.as_os_str().is_empty())
}

/// A positive decimal pid, optionally surrounded by ASCII whitespace.
fn parse_pid(content: &[u8]) -> Option<i32> {
    let text = std::str::from_utf8(content).ok()?.trim_ascii();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i32>().ok().filter(|&p| p > 0)
}

/// Whether process `pid` exists (`kill(pid, 0)`; EPERM means it exists).
pub fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks for existence and permission.
    if unsafe { libc::kill(pid, 0) } == 0 {
        return true;
    }
    io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Write `bytes` to `path` atomically: temporary file in the same directory,
/// fsync, rename over the target, fsync the directory.
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = parent_dir(path).unwrap_or(Path::new("."));
    let name =
        path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let tmp = dir.join(format!(".{}.tmp.{}", name.to_string_lossy(), std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// `-s`: read the pid from `pid_path` and send `signal`'s signal to it. The
/// error is the message to print to stderr before exiting with status 1.
pub fn send_signal(pid_path: &Path, signal: SignalKind) -> Result<(), String> {
    let content =
        fs::read(pid_path).map_err(|e| format!("cannot read pid file {}: {e}", pid_path.display()))?;
    let pid = parse_pid(&content).ok_or_else(|| {
        format!(
            "pid file {} does not contain a pid: {:?}",
            pid_path.display(),
            String::from_utf8_lossy(&content).trim()
        )
    })?;
    // SAFETY: plain kill(2) with a positive pid and a valid signal number.
    if unsafe { libc::kill(pid, signal.signal()) } == 0 {
        return Ok(());
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::ESRCH) {
        Err(format!("no such process {pid} (from pid file {})", pid_path.display()))
    } else {
        Err(format!("cannot send {} to process {pid}: {e}", signal.signal_name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Child, Command};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn temp_dir() -> PathBuf {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "slp-host-pid-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn sleeper() -> Child {
        Command::new("sleep").arg("30").spawn().expect("spawn sleep")
    }

    /// A pid that was just used and whose process is gone (reaped).
    fn dead_pid() -> i32 {
        let mut child = Command::new("true").spawn().expect("spawn true");
        let pid = child.id() as i32;
        child.wait().unwrap();
        assert!(!process_alive(pid));
        pid
    }

    fn ours() -> String {
        format!("{}\n", std::process::id())
    }

    #[test]
    fn parse_pid_forms() {
        assert_eq!(parse_pid(b"123\n"), Some(123));
        assert_eq!(parse_pid(b"  42  "), Some(42));
        assert_eq!(parse_pid(b"0\n"), None);
        assert_eq!(parse_pid(b"-5\n"), None);
        assert_eq!(parse_pid(b"+5\n"), None);
        assert_eq!(parse_pid(b"12 34"), None);
        assert_eq!(parse_pid(b"hello"), None);
        assert_eq!(parse_pid(b""), None);
        assert_eq!(parse_pid(b"99999999999"), None);
        assert_eq!(parse_pid(b"\xff1"), None);
    }

    #[test]
    fn liveness() {
        assert!(process_alive(std::process::id() as i32));
        assert!(!process_alive(0));
        assert!(!process_alive(-1));
        let mut child = sleeper();
        assert!(process_alive(child.id() as i32));
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(!process_alive(child.id() as i32));
    }

    #[test]
    fn acquire_writes_pid_and_creates_dir_and_drop_removes() {
        let dir = temp_dir();
        let path = dir.join("run/sub/slp-host.pid");
        {
            let pf = PidFile::acquire(&path).unwrap();
            assert_eq!(pf.path(), path);
            assert_eq!(pf.pid(), std::process::id());
            assert_eq!(fs::read_to_string(&path).unwrap(), ours());
            // No temporary file left behind.
            let names: Vec<_> =
                fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert_eq!(names, vec![std::ffi::OsString::from("slp-host.pid")]);
        }
        assert!(!path.exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn acquire_fails_when_another_live_process_holds_it() {
        let dir = temp_dir();
        let path = dir.join("slp-host.pid");
        let mut child = sleeper();
        let pid = child.id() as i32;
        fs::write(&path, format!("{pid}\n")).unwrap();
        let e = PidFile::acquire(&path).unwrap_err();
        assert!(matches!(e, PidError::AlreadyRunning { pid: p, .. } if p == pid));
        assert_eq!(e.to_string(), format!("already running (pid {pid}, pid file {})", path.display()));
        // The file is untouched.
        assert_eq!(fs::read_to_string(&path).unwrap(), format!("{pid}\n"));
        child.kill().unwrap();
        child.wait().unwrap();
        // Now stale: acquiring succeeds.
        let pf = PidFile::acquire(&path).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), ours());
        drop(pf);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn stale_files_are_replaced() {
        let dir = temp_dir();
        let path = dir.join("slp-host.pid");
        for stale in
            [format!("{}\n", dead_pid()), "garbage\n".to_string(), String::new(), "0\n".to_string(), ours()]
        {
            fs::write(&path, &stale).unwrap();
            let pf = PidFile::acquire(&path).unwrap_or_else(|e| panic!("{stale:?}: {e}"));
            assert_eq!(fs::read_to_string(&path).unwrap(), ours(), "{stale:?}");
            drop(pf);
            assert!(!path.exists());
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn drop_keeps_a_file_that_is_no_longer_ours() {
        let dir = temp_dir();
        let path = dir.join("slp-host.pid");
        let mut pf = PidFile::acquire(&path).unwrap();
        fs::write(&path, "1\n").unwrap();
        pf.remove();
        assert_eq!(fs::read_to_string(&path).unwrap(), "1\n");
        drop(pf);
        assert_eq!(fs::read_to_string(&path).unwrap(), "1\n");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn explicit_remove_is_idempotent() {
        let dir = temp_dir();
        let path = dir.join("slp-host.pid");
        let mut pf = PidFile::acquire(&path).unwrap();
        pf.remove();
        assert!(!path.exists());
        // A new holder's file is not removed by the old guard's drop.
        fs::write(&path, ours()).unwrap();
        drop(pf);
        assert!(path.exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unreadable_pid_path_is_an_io_error() {
        let dir = temp_dir();
        // A directory where the file should be.
        let path = dir.join("slp-host.pid");
        fs::create_dir_all(&path).unwrap();
        let e = PidFile::acquire(&path).unwrap_err();
        assert!(matches!(e, PidError::Io { action: "read", .. }), "{e:?}");
        assert!(e.to_string().starts_with(&format!("cannot read pid file {}: ", path.display())));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn send_signal_delivers_the_right_signal() {
        let dir = temp_dir();
        let path = dir.join("slp-host.pid");
        for (kind, sig) in [
            (SignalKind::Stop, libc::SIGTERM),
            (SignalKind::Quit, libc::SIGQUIT),
            (SignalKind::Reload, libc::SIGHUP),
            (SignalKind::Reopen, libc::SIGUSR1),
        ] {
            let mut child = sleeper();
            fs::write(&path, format!("{}\n", child.id())).unwrap();
            assert_eq!(send_signal(&path, kind), Ok(()));
            let status = child.wait().unwrap();
            assert_eq!(status.signal(), Some(sig), "{kind:?}");
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn send_signal_errors() {
        let dir = temp_dir();
        let path = dir.join("slp-host.pid");

        let e = send_signal(&path, SignalKind::Stop).unwrap_err();
        assert!(e.starts_with(&format!("cannot read pid file {}: ", path.display())), "{e}");

        fs::write(&path, "not a pid\n").unwrap();
        assert_eq!(
            send_signal(&path, SignalKind::Stop).unwrap_err(),
            format!("pid file {} does not contain a pid: \"not a pid\"", path.display())
        );

        fs::write(&path, "").unwrap();
        assert_eq!(
            send_signal(&path, SignalKind::Quit).unwrap_err(),
            format!("pid file {} does not contain a pid: \"\"", path.display())
        );

        let pid = dead_pid();
        fs::write(&path, format!("{pid}\n")).unwrap();
        assert_eq!(
            send_signal(&path, SignalKind::Reload).unwrap_err(),
            format!("no such process {pid} (from pid file {})", path.display())
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
