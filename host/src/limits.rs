//! Kernel limits that decide whether the configured capacity can be reached:
//! memory mappings (`vm.max_map_count`) for live SLP instances and open files
//! for connections. Checked at start-up; a shortfall is a warning that names
//! the exact fix, because the server still works below it (new sessions get
//! 503 when the pool is exhausted, new connections are refused past the
//! open-file limit).

use std::path::Path;

/// Kernel mappings a live SLP instance takes: its memory slot is split by
/// protection changes, and the copy-on-write image is a mapping of its own
/// (measured: 4 per instance of `echo`).
pub const MAPS_PER_INSTANCE: u64 = 4;
/// Mappings the process needs besides instances (code, heaps, pools, stacks).
pub const MAPS_BASE: u64 = 4096;
/// File descriptors the process needs besides connections (listeners, logs, epoll, store files).
pub const FILES_BASE: u64 = 256;

/// What the capacity needs from the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// `slp.max_live_instances`.
    pub instances: u64,
    /// `rtc.max_connections`.
    pub connections: u64,
}

/// What the kernel allows (None where it could not be read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    pub max_map_count: Option<u64>,
    pub open_files: Option<u64>,
}

impl Allowed {
    /// Reads the limits of this machine and process, raising the soft
    /// open-file limit to the hard one first.
    pub fn read() -> Allowed {
        Allowed {
            max_map_count: read_number(Path::new("/proc/sys/vm/max_map_count")),
            open_files: raise_nofile(),
        }
    }
}

/// A warning for each limit that is too low, with the exact fix.
pub fn shortfalls(needs: Needs, allowed: Allowed) -> Vec<String> {
    let mut out = Vec::new();
    let maps = MAPS_BASE + needs.instances * MAPS_PER_INSTANCE;
    if let Some(have) = allowed.max_map_count
        && have < maps
    {
        let reachable = have.saturating_sub(MAPS_BASE) / MAPS_PER_INSTANCE;
        out.push(format!(
            "slp.max_live_instances = {} needs about {maps} memory mappings but vm.max_map_count is {have}: \
             only about {reachable} live instances can be created (new sessions beyond get 503). \
             Fix: sysctl -w vm.max_map_count={} (persist it in /etc/sysctl.d/), or lower slp.max_live_instances",
            needs.instances,
            maps.next_power_of_two()
        ));
    }
    let files = FILES_BASE + needs.connections;
    if let Some(have) = allowed.open_files
        && have < files
    {
        out.push(format!(
            "rtc.max_connections = {} needs about {files} open files but the limit is {have}: \
             connections beyond about {} will be refused. \
             Fix: raise the hard limit (ulimit -Hn {files}, LimitNOFILE={files} in a systemd unit, \
             or nofile in /etc/security/limits.conf), or lower rtc.max_connections",
            needs.connections,
            have.saturating_sub(FILES_BASE)
        ));
    }
    out
}

fn read_number(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the soft
/// limit in force (None if it cannot be read). The load generator uses it too.
pub fn raise_nofile() -> Option<u64> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    Some(lim.rlim_cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEEDS: Needs = Needs { instances: 100_000, connections: 10_000 };

    #[test]
    fn enough_is_silent() {
        let allowed = Allowed { max_map_count: Some(1 << 20), open_files: Some(1 << 20) };
        assert!(shortfalls(NEEDS, allowed).is_empty());
    }

    #[test]
    fn unreadable_limits_are_not_reported() {
        let allowed = Allowed { max_map_count: None, open_files: None };
        assert!(shortfalls(NEEDS, allowed).is_empty());
    }

    #[test]
    fn a_low_map_count_names_the_reachable_capacity_and_the_sysctl() {
        let allowed = Allowed { max_map_count: Some(65_530), open_files: Some(1 << 20) };
        let w = shortfalls(NEEDS, allowed);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("vm.max_map_count is 65530"), "{}", w[0]);
        assert!(w[0].contains("only about 15358 live instances"), "{}", w[0]);
        assert!(w[0].contains("sysctl -w vm.max_map_count=524288"), "{}", w[0]);
    }

    #[test]
    fn a_low_open_file_limit_names_the_fix() {
        let allowed = Allowed { max_map_count: Some(1 << 20), open_files: Some(1024) };
        let w = shortfalls(NEEDS, allowed);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("rtc.max_connections = 10000"), "{}", w[0]);
        assert!(w[0].contains("ulimit -Hn 10256"), "{}", w[0]);
    }

    #[test]
    fn this_machine_can_be_read() {
        // Linux always has both; the values themselves depend on the machine.
        let allowed = Allowed::read();
        assert!(allowed.max_map_count.is_some_and(|n| n > 0));
        assert!(allowed.open_files.is_some_and(|n| n > 0));
    }
}
