//! Whether the server recorded in `postmaster.pid` is really running.

use super::*;

impl PrivatePostgres {
    /// The postmaster PID recorded in the data dir's `postmaster.pid`, if any.
    pub(super) fn recorded_pid(&self) -> Option<u32> {
        let text = fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// Whether a live postmaster serves this data dir. Unlike `pg_ctl status`, this is not
    /// fooled by a killed postmaster that is still a zombie, nor by its PID being reused after a
    /// reboot: the process's command line must name the data dir.
    pub(super) fn is_running(&self) -> bool {
        self.recorded_pid().is_some_and(|pid| {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let data_dir = self.data_dir.as_os_str().as_bytes();
            cmdline.split(|b| *b == 0).any(|arg| arg == data_dir)
        })
    }

    /// Clears the lock files of a dead server so PostgreSQL agrees to start: waits (bounded) for
    /// a killed postmaster's zombie to be reaped, and removes `postmaster.pid` and the socket
    /// lock when their PID now belongs to another program (e.g. after a reboot).
    pub(super) fn clear_stale_pid_file(&self) -> Result<()> {
        let Some(pid) = self.recorded_pid() else {
            return Ok(());
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        while is_zombie(pid) && Instant::now() < deadline {
            sleep(Duration::from_millis(100));
        }
        if !Path::new(&format!("/proc/{pid}")).exists() {
            return Ok(());
        }
        let socket_lock = self
            .socket_dir()
            .join(format!(".s.PGSQL.{}.lock", self.port));
        for path in [self.data_dir.join("postmaster.pid"), socket_lock] {
            match fs::remove_file(&path) {
                Ok(()) => {
                    tracing::info!(pid, path = %path.display(), "removed stale PostgreSQL lock file")
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(PrivatePgError::Io {
                        action: "remove stale",
                        path,
                        source,
                    });
                }
            }
        }
        Ok(())
    }
}

/// Whether `pid` is a zombie: dead, waiting for its parent to reap it.
pub(super) fn is_zombie(pid: u32) -> bool {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit_once(") ").map(|(_, rest)| rest);
    state.is_some_and(|rest| rest.starts_with('Z'))
}
