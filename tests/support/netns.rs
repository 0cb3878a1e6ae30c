//! Workers on separate hosts: network namespaces joined to this one by veth pairs, and a
//! private PostgreSQL reached from them over the veth addresses (needs root, as CI runs).
//!
//! A fleet's guarantees (pause, rate limits, caps) are enforced in PostgreSQL, so they must
//! hold for workers that share no loopback, no process table and no host: each namespace
//! here is such a host. Worker processes run inside with `ip netns exec`, and their only
//! way to the database is their veth pair.
//!
//! # API
//!
//! ```ignore
//! let hosts = Hosts::new(2);                 // namespaces h0, h1 (panics with a clear message when not root)
//! let pg = NetnsPostgres::start(&hosts);     // listens on 127.0.0.1 and each host's gateway address
//! let db = TestDb::on_server(&pg.admin_url()).await;     // the test itself uses loopback
//! let url = pg.url_from(&hosts.host(0), &db.name);       // the URL a worker on host 0 uses
//! let mut worker = hosts.host(0).command(program);       // `ip netns exec <ns> program`
//! ```
//!
//! | item | what it is |
//! |---|---|
//! | [`Hosts::new`] | `n` namespaces `herald-t-<pid>-<slot>`, each with a veth pair: `hrt<slot>` here with `10.203.x.y+1/30`, `hrn<slot>` inside with `+2/30`, loopback up. Stale namespaces, links and clusters of dead test processes are removed first |
//! | [`Host::gateway`] | the address on this side of the host's pair: where the host reaches PostgreSQL |
//! | [`Host::address`] | the host's own address (PostgreSQL sees its connections come from it) |
//! | [`Host::command`] | a [`Command`] running a program inside the host |
//! | [`NetnsPostgres::start`] | a private cluster of its own (free port from 54340), listening on 127.0.0.1 and every gateway, `pg_hba` trusting `10.203.0.0/16` |
//! | drop | the namespaces (their veth pairs go with them) and the cluster (stopped, folder removed), also when the test panics |
//!
//! Only loopback and the namespaces' own `/30` subnets are ever addressed. Slots are
//! unique per run (process id, a counter, and a check that no link already holds the
//! subnet), so concurrent test processes do not collide.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use herald_testkit::private_pg::{PrivatePostgres, default_home};

/// Prefix of every namespace this harness creates.
const NAMESPACE_PREFIX: &str = "herald-t-";
/// Prefix of the root-side veth links.
const LINK_PREFIX: &str = "hrt";
/// /30 subnets in 10.203.0.0/16.
const SLOTS: u32 = 16_384;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// One simulated host: a network namespace joined to this one by a veth pair.
#[derive(Debug, Clone)]
pub struct Host {
    namespace: String,
    slot: u32,
}

impl Host {
    /// The namespace's name.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The root-side address of the host's veth pair (where it reaches PostgreSQL).
    pub fn gateway(&self) -> String {
        address(self.slot, 1)
    }

    /// The host's own address.
    pub fn address(&self) -> String {
        address(self.slot, 2)
    }

    /// `program` run inside the host (`ip netns exec <namespace> program`).
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.namespace])
            .arg(program);
        command
    }
}

/// `n` hosts, removed on drop (see the module docs).
#[derive(Debug)]
pub struct Hosts {
    hosts: Vec<Host>,
}

impl Hosts {
    /// Creates `n` hosts. Panics with a clear message when not root or when `ip` cannot
    /// be installed (`scripts/ensure-deps iproute2`).
    pub fn new(n: usize) -> Self {
        require_root_and_ip();
        remove_stale();
        let mut hosts = Self { hosts: Vec::new() };
        for _ in 0..n {
            let slot = free_slot();
            let host = Host {
                namespace: format!("{NAMESPACE_PREFIX}{}-{slot}", std::process::id()),
                slot,
            };
            // Pushed first, so a failure below still removes what was made.
            hosts.hosts.push(host.clone());
            create(&host);
        }
        hosts
    }

    /// Host `i`.
    pub fn host(&self, i: usize) -> &Host {
        &self.hosts[i]
    }

    /// Every host.
    pub fn all(&self) -> &[Host] {
        &self.hosts
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for host in &self.hosts {
            let _ = run_quiet(&["netns", "delete", &host.namespace]);
            let _ = run_quiet(&["link", "delete", &format!("{LINK_PREFIX}{}", host.slot)]);
        }
    }
}

/// A private PostgreSQL reachable from the hosts (see the module docs). Stopped and
/// removed on drop.
#[derive(Debug)]
pub struct NetnsPostgres {
    pg: PrivatePostgres,
    home: PathBuf,
}

impl NetnsPostgres {
    /// Starts a cluster of its own listening on 127.0.0.1 and on every host's gateway.
    pub fn start(hosts: &Hosts) -> Self {
        let first = hosts.hosts.first().map_or(0, |h| h.slot);
        let home = default_home().join(format!("netns-{}-{first}", std::process::id()));
        let port = (54_340..54_440)
            .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
            .unwrap_or_else(|| panic!("no free port in 54340..54440"));
        let pg = PrivatePostgres::new(home.join("pg"), port).unwrap_or_else(|e| panic!("{e}"));
        let this = Self { pg, home };
        this.pg.ensure_running().unwrap_or_else(|e| panic!("{e}"));
        let mut addresses = vec!["127.0.0.1".to_owned()];
        addresses.extend(hosts.all().iter().map(Host::gateway));
        append(
            &this.pg.data_dir().join("postgresql.conf"),
            &format!(
                "\n# the hosts' gateways (tests/support/netns.rs)\nlisten_addresses = '{}'\n",
                addresses.join(",")
            ),
        );
        append(
            &this.pg.data_dir().join("pg_hba.conf"),
            "\nhost all all 10.203.0.0/16 trust\n",
        );
        this.pg.stop().unwrap_or_else(|e| panic!("{e}"));
        this.pg.start().unwrap_or_else(|e| panic!("{e}"));
        this
    }

    /// The admin URL over loopback (for the test itself, e.g. `TestDb::on_server`).
    pub fn admin_url(&self) -> String {
        self.pg.url("postgres")
    }

    /// The URL of `database` as `host` reaches it: over its gateway address.
    pub fn url_from(&self, host: &Host, database: &str) -> String {
        format!(
            "postgres://postgres@{}:{}/{database}",
            host.gateway(),
            self.pg.port()
        )
    }
}

impl Drop for NetnsPostgres {
    fn drop(&mut self) {
        let _ = self.pg.stop();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

fn require_root_and_ip() {
    // /proc/self belongs to the process's effective user.
    let root =
        std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    assert!(
        root,
        "this test creates network namespaces (ip netns, veth) and must run as root \
         (CI does); run it as root, e.g. `sudo -E cargo test ...`"
    );
    if Command::new("ip").arg("-V").output().is_err() {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/ensure-deps");
        let status = Command::new(script).arg("iproute2").status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "`ip` is missing and {script} iproute2 could not install it"
        );
    }
}

/// 10.203.0.0/16 split into /30s: slot `slot`'s address `host` (1 or 2).
fn address(slot: u32, host: u32) -> String {
    let base = slot * 4 + host;
    format!("10.203.{}.{}", base / 256, base % 256)
}

/// A slot no link holds an address of yet, starting from this process's own range.
fn free_slot() -> u32 {
    let used = String::from_utf8_lossy(&ip(&["-o", "-4", "addr", "show"]).stdout).into_owned();
    let start = (std::process::id() % 2_000) * 8;
    (0..SLOTS)
        .map(|i| (start + NEXT.fetch_add(1, Ordering::AcqRel) + i) % SLOTS)
        .find(|slot| !used.contains(&format!(" {}/30", address(*slot, 1))))
        .unwrap_or_else(|| panic!("no free /30 left in 10.203.0.0/16"))
}

fn create(host: &Host) {
    let (ns, slot) = (host.namespace.as_str(), host.slot);
    let (outside, inside) = (format!("{LINK_PREFIX}{slot}"), format!("hrn{slot}"));
    let gateway = format!("{}/30", host.gateway());
    let own = format!("{}/30", host.address());
    let steps: [&[&str]; 8] = [
        &["netns", "add", ns],
        &[
            "link", "add", &outside, "type", "veth", "peer", "name", &inside,
        ],
        &["link", "set", &inside, "netns", ns],
        &["addr", "add", &gateway, "dev", &outside],
        &["link", "set", &outside, "up"],
        &["-n", ns, "addr", "add", &own, "dev", &inside],
        &["-n", ns, "link", "set", &inside, "up"],
        &["-n", ns, "link", "set", "lo", "up"],
    ];
    for step in steps {
        let out = ip(step);
        assert!(
            out.status.success(),
            "ip {}: {}",
            step.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Removes the namespaces, links and clusters of test processes that no longer run (a
/// run killed before its drop guards ran).
fn remove_stale() {
    let namespaces = String::from_utf8_lossy(&ip(&["netns", "list"]).stdout).into_owned();
    for line in namespaces.lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some((pid, slot)) = name
            .strip_prefix(NAMESPACE_PREFIX)
            .and_then(|rest| rest.split_once('-'))
        else {
            continue;
        };
        if is_dead(pid) {
            let _ = run_quiet(&["netns", "delete", name]);
            let _ = run_quiet(&["link", "delete", &format!("{LINK_PREFIX}{slot}")]);
        }
    }
    let Ok(entries) = std::fs::read_dir(default_home()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some((pid, _)) = name
            .strip_prefix("netns-")
            .and_then(|rest| rest.split_once('-'))
        else {
            continue;
        };
        if is_dead(pid) {
            if let Ok(pg) = PrivatePostgres::new(entry.path().join("pg"), 0) {
                let _ = pg.stop();
            }
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn is_dead(pid: &str) -> bool {
    pid.parse::<u32>()
        .is_ok_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
}

fn append(path: &std::path::Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
    file.write_all(text.as_bytes())
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn ip(args: &[&str]) -> Output {
    Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run ip {}: {e}", args.join(" ")))
}

fn run_quiet(args: &[&str]) -> std::io::Result<Output> {
    Command::new("ip").args(args).output()
}
