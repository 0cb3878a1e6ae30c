//! Running the PostgreSQL tools (as `postgres` when root), locks and small helpers.

use super::*;

impl PrivatePostgres {
    pub(super) fn pg_ctl_args(&self, action: &str, extra: &[&str]) -> Vec<String> {
        let pg_ctl = self.bin_dir.join("pg_ctl").display().to_string();
        let data = self.data_dir.display().to_string();
        argv(
            [pg_ctl.as_str(), action, "-D", &data]
                .into_iter()
                .chain(extra.iter().copied()),
        )
    }

    /// Prefixes `argv` with `runuser`/`su` when the commands must run as another user.
    pub(super) fn wrap(&self, args: Vec<String>) -> Vec<String> {
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
    pub(super) fn output(&self, args: Vec<String>) -> Result<Output> {
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
    pub(super) fn run(&self, args: Vec<String>) -> Result<Output> {
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
pub(super) fn lock_file(path: &Path) -> Result<File> {
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
pub(super) fn find_bin_dir() -> Option<PathBuf> {
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
pub(super) fn version_key(name: &str) -> Option<Vec<u32>> {
    name.split('.').map(|part| part.parse().ok()).collect()
}

pub(super) fn find_in_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Whether this process runs with effective uid 0 (read from `/proc/self/status`).
pub(super) fn is_root() -> bool {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let uid_line = status.lines().find_map(|line| line.strip_prefix("Uid:"));
    uid_line.and_then(|ids| ids.split_whitespace().nth(1)) == Some("0")
}

/// The `postgres` user's uid and gid, via `id`.
pub(super) fn postgres_ids() -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, "postgres"]).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().parse().ok())?
    };
    Some((id("-u")?, id("-g")?))
}

pub(super) fn port_accepts(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
}

pub(super) fn failure(program: &str, out: &Output) -> PrivatePgError {
    let detail = last_line(&String::from_utf8_lossy(&out.stderr))
        .or_else(|| last_line(&String::from_utf8_lossy(&out.stdout)))
        .unwrap_or_else(|| format!("exited with {}", out.status));
    PrivatePgError::Failed {
        program: program.to_owned(),
        detail,
    }
}

/// The last `FATAL`/`PANIC` line of a server log, else its last line.
pub(super) fn key_line(text: &str) -> Option<String> {
    let fatal = text
        .lines()
        .rfind(|line| line.contains("FATAL:") || line.contains("PANIC:"));
    fatal
        .map(|line| line.trim().to_owned())
        .or_else(|| last_line(text))
}

pub(super) fn last_line(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())
        .map(str::to_owned)
}

pub(super) fn base_name(arg: &str) -> &str {
    arg.rsplit('/').next().unwrap_or(arg)
}

pub(super) fn io_err(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(io::Error) -> PrivatePgError {
    let path = path.to_path_buf();
    move |source| PrivatePgError::Io {
        action,
        path,
        source,
    }
}

/// `path` with `..` resolved lexically, as `pg_ctl` does (so `/proc/<pid>/cmdline` matches).
pub(super) fn without_dot_dot(path: &Path) -> PathBuf {
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
pub(super) fn argv<'a>(parts: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    parts.into_iter().map(str::to_owned).collect()
}

/// `args` as one POSIX shell command line.
pub(super) fn shell_line(args: &[String]) -> String {
    let quoted: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
    quoted.join(" ")
}

/// Quotes `arg` for a POSIX shell, leaving plain words alone.
pub(super) fn shell_quote(arg: &str) -> String {
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
