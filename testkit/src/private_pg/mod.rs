//! A private PostgreSQL instance for Herald's demo and tests.
//!
//! [`PrivatePostgres`] drives the stock server binaries (`initdb`, `pg_ctl`, `psql`) to keep a
//! throwaway cluster in a folder of its own, listening on 127.0.0.1 only, with trust
//! authentication for the `postgres` user. It never touches a system cluster.
//!
//! Layout, for a data dir `<home>/<name>`:
//! - `<home>/<name>/`: the cluster (owned by `postgres` when run as root);
//! - `<home>/sock/`: the unix socket folder;
//! - `<home>/<name>.log`: the server log;
//! - `<home>/<name>.lock`: an advisory lock held while starting or stopping, so several
//!   processes (e.g. parallel test binaries) may call [`PrivatePostgres::ensure_running`] at once.
//!
//! PostgreSQL refuses to run as root, so when the caller is root every PostgreSQL command runs
//! as the `postgres` user (through `runuser`, or `su` where `runuser` is missing).
//!
//! Every wait is bounded: `pg_ctl` gets `-t 30`, `psql` a connect timeout, and readiness is
//! confirmed by a TCP connect loop with a 60 s deadline.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Output};
use std::thread::sleep;
use std::time::{Duration, Instant};

mod cluster;
mod command;
mod pid;

use command::*;
#[cfg(test)]
use pid::is_zombie;

/// Where Debian installs PostgreSQL's server binaries, one folder per major version.
const PG_LIB: &str = "/usr/lib/postgresql";
/// The database [`PrivatePostgres::ensure_running`] creates.
const HERALD_DB: &str = "herald";
/// How long the server may take to start or stop.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long to wait for another process that is initialising or starting the same instance.
const LOCK_TIMEOUT: Duration = Duration::from_secs(90);
/// Environment variables that would redirect the PostgreSQL tools elsewhere.
const PG_ENV: &str = "PGDATA PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGOPTIONS PGSERVICE";

/// Why a private PostgreSQL instance could not be set up or controlled.
#[derive(Debug, thiserror::Error)]
pub enum PrivatePgError {
    /// No folder holding both `initdb` and `pg_ctl` was found.
    #[error(
        "PostgreSQL server binaries not found under {PG_LIB}; install them with `apt-get install postgresql`"
    )]
    BinariesNotFound,
    /// Running as root, but there is no `postgres` user to run the server as.
    #[error(
        "running as root but there is no `postgres` user to run PostgreSQL as; install it with `apt-get install postgresql`"
    )]
    NoPostgresUser,
    /// The data dir has no parent folder to hold the socket, log and lock files.
    #[error("data dir {0} has no parent folder; use a path like /var/tmp/herald/pg")]
    NoParent(PathBuf),
    /// A file-system operation failed.
    #[error("could not {action} {path}: {source}")]
    Io {
        /// What was being done, e.g. "create folder".
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A program could not be launched at all.
    #[error("could not run `{program}`: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The underlying error.
        source: io::Error,
    },
    /// A program ran and failed.
    #[error("`{program}` failed: {detail}")]
    Failed {
        /// The program.
        program: String,
        /// The last line it (or the server log) printed.
        detail: String,
    },
    /// Another process held the instance's lock for too long.
    #[error("timed out after {}s waiting for lock {path}; another process may be stuck starting PostgreSQL", LOCK_TIMEOUT.as_secs())]
    LockTimeout {
        /// The lock file.
        path: PathBuf,
    },
    /// The port is taken by something that is not this instance.
    #[error("127.0.0.1:{0} is already in use by another process; choose another port")]
    PortInUse(u16),
    /// The server started but did not accept TCP connections in time.
    #[error("PostgreSQL on 127.0.0.1:{port} did not accept connections within {}s; see {log}", READY_TIMEOUT.as_secs())]
    NotReady {
        /// The port.
        port: u16,
        /// The server log.
        log: PathBuf,
    },
    /// [`PrivatePostgres::start`] was called before the cluster was ever created.
    #[error("no PostgreSQL cluster in {0}; call ensure_running first")]
    NotInitialized(PathBuf),
    /// The data dir holds files but no cluster.
    #[error("{0} is not empty but holds no PostgreSQL cluster; empty or remove it")]
    NotACluster(PathBuf),
    /// The `postgres` user cannot reach a folder the server needs.
    #[error(
        "user `postgres` cannot reach {0}; make it and its parent folders searchable (chmod o+x)"
    )]
    Unreachable(PathBuf),
}

type Result<T> = std::result::Result<T, PrivatePgError>;

/// A PostgreSQL cluster private to Herald, in a data dir of its own, on 127.0.0.1:`port`.
#[derive(Debug, Clone)]
pub struct PrivatePostgres {
    data_dir: PathBuf,
    port: u16,
    bin_dir: PathBuf,
    run_as: Option<String>,
    owner: Option<(u32, u32)>,
}

/// Default folder for Herald's private instances: `$HERALD_HOME` if set, else `/var/tmp/herald`.
///
/// The folder is created (mode 0755, so the `postgres` user can reach it) by
/// [`PrivatePostgres::ensure_running`], not here.
pub fn default_home() -> PathBuf {
    match std::env::var_os("HERALD_HOME") {
        Some(home) if !home.is_empty() => PathBuf::from(home),
        _ => PathBuf::from("/var/tmp/herald"),
    }
}

impl PrivatePostgres {
    /// Describes an instance in `data_dir` on 127.0.0.1:`port`, using the newest
    /// `/usr/lib/postgresql/*/bin` that holds `initdb` and `pg_ctl` (else the folder of `pg_ctl`
    /// on `PATH`). Starts nothing.
    pub fn new(data_dir: impl Into<PathBuf>, port: u16) -> Result<Self> {
        let data_dir = data_dir.into();
        let data_dir = std::path::absolute(&data_dir).map_err(io_err("resolve", &data_dir))?;
        let data_dir = without_dot_dot(&data_dir);
        if data_dir.parent().is_none() {
            return Err(PrivatePgError::NoParent(data_dir));
        }
        let bin_dir = find_bin_dir().ok_or(PrivatePgError::BinariesNotFound)?;
        let (run_as, owner) = if is_root() {
            let owner = postgres_ids().ok_or(PrivatePgError::NoPostgresUser)?;
            (Some("postgres".to_owned()), Some(owner))
        } else {
            (None, None)
        };
        Ok(Self {
            data_dir,
            port,
            bin_dir,
            run_as,
            owner,
        })
    }

    /// The cluster's data dir.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The connection URL for `database`: `postgres://postgres@127.0.0.1:{port}/{database}`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The shell command a person runs to stop this instance.
    pub fn stop_command(&self) -> String {
        shell_line(&self.wrap(self.pg_ctl_args("stop", &["-m", "fast"])))
    }

    /// Makes sure the instance runs and has a `herald` database: creates the cluster if the data
    /// dir has none, starts it if it is down, and waits until it accepts connections.
    ///
    /// Returns quickly when it already runs. Safe to call from several processes at once.
    pub fn ensure_running(&self) -> Result<()> {
        self.prepare_home()?;
        let _lock = self.lock()?;
        if !self.is_initialized() {
            self.init()?;
        }
        if self.is_running() {
            tracing::debug!(port = self.port, data_dir = %self.data_dir.display(), "private PostgreSQL already running");
        } else {
            self.launch()?;
        }
        self.wait_accepting()?;
        self.ensure_database(HERALD_DB)
    }

    /// Starts an existing cluster again with the same settings and waits until it is ready.
    /// Does nothing if it already runs.
    pub fn start(&self) -> Result<()> {
        self.prepare_home()?;
        let _lock = self.lock()?;
        if !self.is_initialized() {
            return Err(PrivatePgError::NotInitialized(self.data_dir.clone()));
        }
        if !self.is_running() {
            self.launch()?;
        }
        self.wait_accepting()
    }

    /// Stops the instance (`pg_ctl stop -m fast`, bounded). Ok if it is not running.
    pub fn stop(&self) -> Result<()> {
        if !self.home().is_dir() {
            return Ok(());
        }
        let _lock = self.lock()?;
        if !self.is_initialized() || !self.is_running() {
            return Ok(());
        }
        let wait = READY_TIMEOUT.as_secs().to_string();
        self.run(self.pg_ctl_args("stop", &["-m", "fast", "-w", "-t", &wait, "-s"]))?;
        tracing::info!(port = self.port, data_dir = %self.data_dir.display(), "stopped private PostgreSQL");
        Ok(())
    }

    /// The folder holding the data dir, socket folder, log and lock.
    fn home(&self) -> &Path {
        self.data_dir.parent().unwrap_or(Path::new("/"))
    }

    fn socket_dir(&self) -> PathBuf {
        self.home().join("sock")
    }

    /// `<data_dir>.<ext>`, beside the data dir.
    fn sibling(&self, ext: &str) -> PathBuf {
        let mut path = self.data_dir.clone().into_os_string();
        path.push(format!(".{ext}"));
        PathBuf::from(path)
    }

    fn log_path(&self) -> PathBuf {
        self.sibling("log")
    }

    fn lock(&self) -> Result<File> {
        lock_file(&self.sibling("lock"))
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A private instance in a fresh folder under /var/tmp, stopped and removed on drop.
    struct Scratch {
        pg: PrivatePostgres,
        home: PathBuf,
    }

    impl Scratch {
        fn new(first_port: u16) -> Self {
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let n = NEXT.fetch_add(1, Ordering::SeqCst);
            let home = PathBuf::from(format!(
                "/var/tmp/herald-pg-test-{}-{n}",
                std::process::id()
            ));
            let port = (first_port..first_port + 100)
                .find(|p| TcpListener::bind(("127.0.0.1", *p)).is_ok())
                .expect("a free port");
            let pg = PrivatePostgres::new(home.join("pg"), port).expect("PostgreSQL binaries");
            Self { pg, home }
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = self.pg.stop();
            let _ = fs::remove_dir_all(&self.home);
        }
    }

    #[test]
    fn runs_stops_and_starts_again() {
        let s = Scratch::new(55431);
        let port = s.pg.port();
        assert!(matches!(
            s.pg.start(),
            Err(PrivatePgError::NotInitialized(_))
        ));
        s.pg.ensure_running().expect("first ensure_running");
        assert!(port_accepts(port));
        assert_eq!(
            s.pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'herald'")
                .expect("psql")
                .trim(),
            "1"
        );
        assert_eq!(
            s.pg.psql("SHOW max_connections").expect("psql").trim(),
            "200"
        );
        assert_eq!(s.pg.psql("SHOW fsync").expect("psql").trim(), "on");

        let again = Instant::now();
        s.pg.ensure_running().expect("second ensure_running");
        assert!(
            again.elapsed() < Duration::from_secs(2),
            "already running should be quick: {:?}",
            again.elapsed()
        );

        s.pg.stop().expect("stop");
        assert!(!port_accepts(port));
        s.pg.stop().expect("stop when stopped");
        s.pg.start().expect("start again");
        assert!(port_accepts(port));
        assert!(s.home.join("pg.log").is_file());
        assert!(s.pg.stop_command().contains("pg_ctl stop -D"));
    }

    #[test]
    fn concurrent_callers_share_one_instance() {
        let s = Scratch::new(55451);
        let results: Vec<_> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..3)
                .map(|_| scope.spawn(|| s.pg.clone().ensure_running()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        for result in results {
            result.expect("ensure_running");
        }
        assert!(port_accepts(s.pg.port()));
    }

    #[test]
    fn recovers_from_a_killed_server_and_a_stale_pid_file() {
        let s = Scratch::new(55461);
        s.pg.ensure_running().expect("first start");
        let pid = s.pg.recorded_pid().expect("postmaster.pid");
        let killed = Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(killed.success());
        while !is_zombie(pid) && Path::new(&format!("/proc/{pid}")).exists() {
            sleep(Duration::from_millis(10));
        }
        s.pg.ensure_running().expect("start after kill -9");
        assert!(port_accepts(s.pg.port()));

        s.pg.stop().expect("stop");
        let pid_file = s.pg.data_dir().join("postmaster.pid");
        fs::write(&pid_file, format!("{}\n", std::process::id())).expect("fake pid file");
        s.pg.ensure_running().expect("start despite a reused PID");
        assert!(port_accepts(s.pg.port()));
    }

    #[test]
    fn refuses_a_port_held_by_someone_else() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let mut s = Scratch::new(55471);
        s.pg.port = port;
        assert!(matches!(s.pg.ensure_running(), Err(PrivatePgError::PortInUse(p)) if p == port));
    }

    #[test]
    fn small_pieces() {
        assert!(version_key("9.6") < version_key("15"));
        assert_eq!(version_key("main"), None);
        assert_eq!(shell_quote("/a b/it's"), r"'/a b/it'\''s'");
        assert_eq!(shell_quote("-m"), "-m");
        let pg = PrivatePostgres::new("/var/tmp/x/pg", 5999).expect("binaries");
        assert_eq!(
            pg.url("herald"),
            "postgres://postgres@127.0.0.1:5999/herald"
        );
        assert_eq!(pg.sibling("lock"), Path::new("/var/tmp/x/pg.lock"));
        assert_eq!(pg.log_path(), Path::new("/var/tmp/x/pg.log"));
        let odd = PrivatePostgres::new("/var/tmp/y/../x/./pg/", 5999).expect("binaries");
        assert_eq!(odd.data_dir(), Path::new("/var/tmp/x/pg"));
    }
}
