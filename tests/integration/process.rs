//! Worker processes (`herald-test-worker`, `herald`) with captured stderr.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A running worker process.
pub struct WorkerProcess {
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl WorkerProcess {
    /// Starts `herald-test-worker` with `env` (JSON logs at `info`).
    pub fn spawn(env: &HashMap<String, String>) -> Self {
        Self::spawn_command(Command::new(env!("CARGO_BIN_EXE_herald-test-worker")), env)
    }

    /// Starts `herald-test-worker` on `host`: inside its network namespace (`ip netns
    /// exec` replaces itself with the worker, so signals reach the worker).
    #[allow(
        dead_code,
        reason = "used by the integration tests; the load test includes this file too"
    )]
    pub fn spawn_on(host: &herald_tests::netns::Host, env: &HashMap<String, String>) -> Self {
        Self::spawn_command(host.command(env!("CARGO_BIN_EXE_herald-test-worker")), env)
    }

    fn spawn_command(mut command: Command, env: &HashMap<String, String>) -> Self {
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HERALD_LOG_FORMAT", "json")
            .env("HERALD_LOG", "info")
            .envs(env)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("spawn worker: {e}"));
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr = child
            .stderr
            .take()
            .unwrap_or_else(|| panic!("worker stderr"));
        let sink = Arc::clone(&logs);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(mut logs) = sink.lock() {
                    logs.push(line);
                }
            }
        });
        Self {
            child,
            logs,
            reader: Some(reader),
        }
    }

    /// Sends `signal`. SIGTERM and SIGINT wait until the worker has started (logged
    /// "worker starting"), so they test graceful shutdown rather than a process killed
    /// before it installed its handler.
    pub fn signal(&self, signal: Signal) {
        if matches!(signal, Signal::SIGTERM | Signal::SIGINT) {
            self.wait_started(Duration::from_secs(60));
        }
        let pid = Pid::from_raw(self.child.id() as i32);
        kill(pid, signal).unwrap_or_else(|e| panic!("kill {signal}: {e}"));
    }

    /// Waits up to `timeout` for the worker's "worker starting" event.
    pub fn wait_started(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        while !self.logs().iter().any(|l| l.contains("worker starting")) {
            assert!(
                Instant::now() < deadline,
                "worker did not start within {timeout:?}; logs:\n{}",
                self.logs().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits up to `timeout` for the process to exit.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self
                .child
                .try_wait()
                .unwrap_or_else(|e| panic!("wait: {e}"))
            {
                if let Some(reader) = self.reader.take() {
                    let _ = reader.join();
                }
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "worker did not exit within {timeout:?}; logs:\n{}",
                    self.logs().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL, then reap.
    pub fn kill_hard(&mut self) {
        self.signal(Signal::SIGKILL);
        self.wait(Duration::from_secs(10));
    }

    /// Captured stderr lines so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Captured JSON events so far (non-JSON lines skipped).
    pub fn events(&self) -> Vec<serde_json::Value> {
        self.logs()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
