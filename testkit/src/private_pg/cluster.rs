//! Creating, configuring and starting the cluster.

use super::*;

impl PrivatePostgres {
    pub(super) fn is_initialized(&self) -> bool {
        self.data_dir.join("PG_VERSION").is_file()
    }

    /// Creates the home folder (0755), the socket folder and the log file, owned by `postgres`
    /// when run as root.
    pub(super) fn prepare_home(&self) -> Result<()> {
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
    pub(super) fn give_to_owner(&self, path: &Path) -> Result<()> {
        match self.owner {
            Some((uid, gid)) => {
                std::os::unix::fs::chown(path, Some(uid), Some(gid)).map_err(io_err("chown", path))
            }
            None => Ok(()),
        }
    }

    /// Runs `initdb` into a scratch folder and renames it into place, so an interrupted run
    /// never leaves a half-made cluster behind.
    pub(super) fn init(&self) -> Result<()> {
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
    pub(super) fn write_settings(&self, cluster: &Path) -> Result<()> {
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
    pub(super) fn check_reachable(&self, dir: &Path) -> Result<()> {
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

    /// Starts the server with `pg_ctl start -w` after checking nothing else holds the port.
    pub(super) fn launch(&self) -> Result<()> {
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
    pub(super) fn wait_accepting(&self) -> Result<()> {
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
    pub(super) fn ensure_database(&self, database: &str) -> Result<()> {
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
    pub(super) fn psql(&self, sql: &str) -> Result<String> {
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
}
