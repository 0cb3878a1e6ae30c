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
//! confirmed by a TCP connect loop with a 30 s deadline.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Output};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Where Debian installs PostgreSQL's server binaries, one folder per major version.
const PG_LIB: &str = "/usr/lib/postgresql";
/// The database [`PrivatePostgres::ensure_running`] creates.
const HERALD_DB: &str = "herald";
/// How long the server may take to start or stop.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
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

    fn is_initialized(&self) -> bool {
        self.data_dir.join("PG_VERSION").is_file()
    }

    /// Creates the home folder (0755), the socket folder and the log file, owned by `postgres`
    /// when run as root.
    fn prepare_home(&self) -> Result<()> {
        let home = self.home().to_path_buf();
        if !home.is_dir() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(&home)
                .map_err(io_err("create folder", &home))?;
            fs::set_permissions(&home, fs::Permissions::from_mode(0o755))
                .map_err(io_err("set permissions on", &home))?;
        }
        let sock = self.socket_dir();
        if !sock.is_dir() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(&sock)
                .map_err(io_err("create folder", &sock))?;
        }
        let log = self.log_path();
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(io_err("create", &log))?;
        self.give_to_owner(&sock)?;
        self.give_to_owner(&log)
    }

    /// Hands `path` to the `postgres` user when run as root.
    fn give_to_owner(&self, path: &Path) -> Result<()> {
        match self.owner {
            Some((uid, gid)) => {
                std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(io_err("chown", path))
            }
            None => Ok(()),
        }
    }

    /// Runs `initdb` into a scratch folder and renames it into place, so an interrupted run
    /// never leaves a half-made cluster behind.
    fn init(&self) -> Result<()> {
        if fs::read_dir(&self.data_dir).is_ok_and(|mut entries| entries.next().is_some()) {
            return Err(PrivatePgError::NotACluster(self.data_dir.clone()));
        }
        let scratch = self.sibling("initdb");
        if scratch.exists() {
            fs::remove_dir_all(&scratch).map_err(io_err("remove", &scratch))?;
        }
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&scratch)
            .map_err(io_err("create folder", &scratch))?;
        self.give_to_owner(&scratch)?;
        self.check_reachable(&scratch)?;
        let initdb = self.bin_dir.join("initdb").display().to_string();
        let target = scratch.display().to_string();
        let auth = ["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"];
        self.run(argv(
            [initdb.as_str(), "-D", &target].into_iter().chain(auth),
        ))?;
        self.write_settings(&scratch)?;
        if self.data_dir.exists() {
            fs::remove_dir(&self.data_dir).map_err(io_err("replace", &self.data_dir))?;
        }
        fs::rename(&scratch, &self.data_dir)
            .map_err(io_err("move cluster into", &self.data_dir))?;
        tracing::info!(data_dir = %self.data_dir.display(), bin_dir = %self.bin_dir.display(), "initialised private PostgreSQL cluster");
        Ok(())
    }

    /// Appends Herald's settings to the new cluster's `postgresql.conf` (the port is passed at
    /// each start instead, so it may change).
    fn write_settings(&self, cluster: &Path) -> Result<()> {
        let conf = cluster.join("postgresql.conf");
        let sock = self.socket_dir().display().to_string().replace('\'', "''");
        let settings = format!(
            "\n# Herald's private instance\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{sock}'\n\
             max_connections = 200\nfsync = on\n"
        );
        let mut text = fs::read_to_string(&conf).map_err(io_err("read", &conf))?;
        text.push_str(&settings);
        fs::write(&conf, text).map_err(io_err("write", &conf))
    }

    /// Fails with a clear message when the `postgres` user cannot enter `dir`.
    fn check_reachable(&self, dir: &Path) -> Result<()> {
        if self.run_as.is_none() {
            return Ok(());
        }
        let dir_arg = dir.display().to_string();
        match self
            .output(argv(["test", "-x", &dir_arg]))?
            .status
            .success()
        {
            true => Ok(()),
            false => Err(PrivatePgError::Unreachable(dir.to_path_buf())),
        }
    }

    /// The postmaster PID recorded in the data dir's `postmaster.pid`, if any.
    fn recorded_pid(&self) -> Option<u32> {
        let text = fs::read_to_string(self.data_dir.join("postmaster.pid")).ok()?;
        text.lines().next()?.trim().parse().ok()
    }

    /// Whether a live postmaster serves this data dir. Unlike `pg_ctl status`, this is not
    /// fooled by a killed postmaster that is still a zombie, nor by its PID being reused after a
    /// reboot: the process's command line must name the data dir.
    fn is_running(&self) -> bool {
        self.recorded_pid().is_some_and(|pid| {
            let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let data_dir = self.data_dir.as_os_str().as_bytes();
            cmdline.split(|b| *b == 0).any(|arg| arg == data_dir)
        })
    }

    /// Clears the lock files of a dead server so PostgreSQL agrees to start: waits (bounded) for
    /// a killed postmaster's zombie to be reaped, and removes `postmaster.pid` and the socket
    /// lock when their PID now belongs to another program (e.g. after a reboot).
    fn clear_stale_pid_file(&self) -> Result<()> {
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

    /// Starts the server with `pg_ctl start -w` after checking nothing else holds the port.
    fn launch(&self) -> Result<()> {
        if port_accepts(self.port) {
            return Err(PrivatePgError::PortInUse(self.port));
        }
        self.check_reachable(&self.data_dir)?;
        self.clear_stale_pid_file()?;
        let log = self.log_path();
        let log_len = fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        let wait = READY_TIMEOUT.as_secs().to_string();
        let options = format!("-p {}", self.port);
        let log_arg = log.display().to_string();
        let args = ["-l", &log_arg, "-w", "-t", &wait, "-s", "-o", &options];
        let out = self.output(self.pg_ctl_args("start", &args))?;
        if !out.status.success() {
            let text = fs::read(&log).unwrap_or_default();
            let fresh = text.get(log_len as usize..).unwrap_or_default();
            return Err(match key_line(&String::from_utf8_lossy(fresh)) {
                Some(line) => PrivatePgError::Failed {
                    program: "pg_ctl start".to_owned(),
                    detail: format!("{line} (see {})", log.display()),
                },
                None => failure("pg_ctl start", &out),
            });
        }
        tracing::info!(port = self.port, data_dir = %self.data_dir.display(), log = %log.display(), "started private PostgreSQL");
        Ok(())
    }

    /// Waits until 127.0.0.1:`port` accepts TCP connections.
    fn wait_accepting(&self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        while !port_accepts(self.port) {
            if Instant::now() >= deadline {
                return Err(PrivatePgError::NotReady {
                    port: self.port,
                    log: self.log_path(),
                });
            }
            sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    /// Creates `database` unless it exists.
    fn ensure_database(&self, database: &str) -> Result<()> {
        let name = database.replace('\'', "''");
        let exists = self.psql(&format!(
            "SELECT 1 FROM pg_database WHERE datname = '{name}'"
        ))?;
        if exists.trim() == "1" {
            return Ok(());
        }
        self.psql(&format!(
            "CREATE DATABASE \"{}\"",
            database.replace('"', "\"\"")
        ))?;
        tracing::info!(
            database,
            port = self.port,
            "created database in private PostgreSQL"
        );
        Ok(())
    }

    /// Runs one SQL statement against the `postgres` database over TCP; returns its output.
    fn psql(&self, sql: &str) -> Result<String> {
        let psql = self.bin_dir.join("psql");
        let psql = if psql.is_file() {
            psql.display().to_string()
        } else {
            "psql".to_owned()
        };
        let conn = format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres connect_timeout=10",
            self.port
        );
        let args = [psql.as_str(), "-XAtq", "-v", "ON_ERROR_STOP=1"];
        let out = self.run(argv(args.into_iter().chain(["-d", &conn, "-c", sql])))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn pg_ctl_args(&self, action: &str, extra: &[&str]) -> Vec<String> {
        let pg_ctl = self.bin_dir.join("pg_ctl").display().to_string();
        let data = self.data_dir.display().to_string();
        argv(
            [pg_ctl.as_str(), action, "-D", &data]
                .into_iter()
                .chain(extra.iter().copied()),
        )
    }

    /// Prefixes `argv` with `runuser`/`su` when the commands must run as another user.
    fn wrap(&self, args: Vec<String>) -> Vec<String> {
        let Some(user) = &self.run_as else {
            return args;
        };
        if find_in_path("runuser").is_some() {
            argv(
                ["runuser", "-u", user, "--"]
                    .into_iter()
                    .chain(args.iter().map(String::as_str)),
            )
        } else {
            argv(["su", user, "-s", "/bin/sh", "-c", &shell_line(&args)])
        }
    }

    /// Runs `argv` (as the `postgres` user when root) and returns its output, whatever its status.
    fn output(&self, args: Vec<String>) -> Result<Output> {
        let args = self.wrap(args);
        let (program, args) = args.split_first().ok_or(PrivatePgError::BinariesNotFound)?;
        let mut cmd = Command::new(program);
        cmd.args(args).current_dir("/").env("LC_ALL", "C");
        for var in PG_ENV.split_whitespace() {
            cmd.env_remove(var);
        }
        cmd.output().map_err(|source| PrivatePgError::Spawn {
            program: program.clone(),
            source,
        })
    }

    /// Like [`Self::output`], but a non-zero exit is an error.
    fn run(&self, args: Vec<String>) -> Result<Output> {
        let name = match args.as_slice() {
            [program, action, ..] if !action.starts_with('-') => {
                format!("{} {action}", base_name(program))
            }
            [program, ..] => base_name(program).to_owned(),
            [] => String::new(),
        };
        let out = self.output(args)?;
        match out.status.success() {
            true => Ok(out),
            false => Err(failure(&name, &out)),
        }
    }
}

/// Takes an exclusive advisory lock on `path` (released when the file is dropped), polling until
/// [`LOCK_TIMEOUT`].
fn lock_file(path: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io_err("open lock", path))?;
    let deadline = Instant::now() + LOCK_TIMEOUT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                sleep(Duration::from_millis(50))
            }
            Err(TryLockError::WouldBlock) => {
                return Err(PrivatePgError::LockTimeout {
                    path: path.to_path_buf(),
                });
            }
            Err(TryLockError::Error(source)) => {
                return Err(PrivatePgError::Io {
                    action: "lock",
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` with `initdb` and `pg_ctl`, else the real
/// folder of `pg_ctl` on `PATH` if `initdb` sits beside it.
fn find_bin_dir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let mut versions: Vec<(Vec<u32>, PathBuf)> = fs::read_dir(PG_LIB)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            Some((
                version_key(entry.file_name().to_str()?)?,
                entry.path().join("bin"),
            ))
        })
        .filter(|(_, bin)| has_tools(bin))
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let pg_ctl = fs::canonicalize(find_in_path("pg_ctl")?).ok()?;
    pg_ctl
        .parent()
        .filter(|dir| has_tools(dir))
        .map(Path::to_path_buf)
}

/// `"9.6"` → `[9, 6]`; `None` for names that are not versions.
fn version_key(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Whether this process runs with effective uid 0 (read from `/proc/self/status`).
fn is_root() -> bool {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid_line = status.lines().find_map(|line| line.strip_prefix("Uid:"));
    uid_line.and_then(|ids| ids.split_whitespace().nth(1)) == Some("0")
}

/// The `postgres` user's uid and gid, via `id`.
fn postgres_ids() -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, "postgres"]).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().parse().ok())?
    };
    Some((id("-u")?, id("-g")?))
}

fn port_accepts(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}

fn failure(program: &str, out: &Output) -> PrivatePgError {
    let detail = last_line(&String::from_utf8_lossy(&out.stderr))
        .or_else(|| last_line(&String::from_utf8_lossy(&out.stdout)))
        .unwrap_or_else(|| format!("exited with {}", out.status));
    PrivatePgError::Failed {
        program: program.to_owned(),
        detail,
    }
}

/// The last `FATAL`/`PANIC` line of a server log, else its last line.
fn key_line(text: &str) -> Option<String> {
    let fatal = text
        .lines()
        .rfind(|line| line.contains("FATAL:") || line.contains("PANIC:"));
    fatal
        .map(|line| line.trim().to_owned())
        .or_else(|| last_line(text))
}

/// Whether `pid` is a zombie: dead, waiting for its parent to reap it.
fn is_zombie(pid: u32) -> bool {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit_once(") ").map(|(_, rest)| rest);
    state.is_some_and(|rest| rest.starts_with('Z'))
}

fn last_line(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .map(str::to_owned)
}

fn base_name(arg: &str) -> &str {
    arg.rsplit('/').next().unwrap_or(arg)
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> PrivatePgError {
    let path = path.to_path_buf();
    move |source| PrivatePgError::Io {
        action,
        path,
        source,
    }
}

/// `path` with `..` resolved lexically, as `pg_ctl` does (so `/proc/<pid>/cmdline` matches).
fn without_dot_dot(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Owned arguments for a command line.
fn argv<'a>(parts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    parts.into_iter().map(str::to_owned).collect()
}

/// `args` as one POSIX shell command line.
fn shell_line(args: &[String]) -> String {
    let quoted: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
    quoted.join(" ")
}

/// Quotes `arg` for a POSIX shell, leaving plain words alone.
fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-=:,@+".contains(c));
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
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
