//! Herald reaches a PostgreSQL that accepts TLS connections only, as managed databases
//! often require: the `herald` binary (and so the worker, which connects the same way)
//! negotiates TLS by the URL's `sslmode`, verifies the server against `sslrootcert`, and
//! a plain connection such a server refuses is a clear error, not a panic.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use herald_testkit::private_pg::{PrivatePostgres, default_home};
use herald_tests::wait::eventually;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

use crate::cli::{herald, text};

/// Port of the instance this test turns TLS-only (its own, so other tests are unaffected).
const TLS_PORT: u16 = 54332;

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| panic!("blocking task: {e}"))
}

/// Runs `openssl args…` in `dir`.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run openssl: {e}"));
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        text(&out.stderr)
    );
}

/// Makes a test CA and a certificate it signs for 127.0.0.1, the server's key and
/// certificate in the cluster's folder, owned by the cluster's owner (the server refuses
/// a key others can read). Returns the CA certificate's path, the clients' root of trust.
fn write_certificates(data_dir: &Path) -> String {
    let ca_dir = data_dir
        .parent()
        .unwrap_or_else(|| panic!("no parent"))
        .join("test-tls-ca");
    std::fs::create_dir_all(&ca_dir).unwrap_or_else(|e| panic!("{e}"));
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=Herald test CA"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.crt"]);
    openssl(&ca_dir, &ca);
    let mut csr = vec!["req", "-subj", "/CN=127.0.0.1"];
    csr.extend(ec);
    csr.extend(["-keyout", "server.key", "-out", "server.csr"]);
    openssl(&ca_dir, &csr);
    std::fs::write(ca_dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n")
        .unwrap_or_else(|e| panic!("{e}"));
    openssl(
        &ca_dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.crt",
        ],
    );
    let owner = std::fs::metadata(data_dir).unwrap_or_else(|e| panic!("{e}"));
    for name in ["server.crt", "server.key"] {
        let to = data_dir.join(name);
        std::fs::copy(ca_dir.join(name), &to).unwrap_or_else(|e| panic!("copy {name}: {e}"));
        std::os::unix::fs::chown(&to, Some(owner.uid()), Some(owner.gid()))
            .unwrap_or_else(|e| panic!("chown {}: {e}", to.display()));
        std::fs::set_permissions(&to, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap_or_else(|e| panic!("chmod: {e}"));
    }
    ca_dir.join("ca.crt").display().to_string()
}

/// Turns the instance TLS-only: a certificate, `ssl = on`, and a pg_hba.conf whose TCP
/// lines accept TLS connections and reject plain ones. Safe to repeat (the instance
/// persists between runs): the set-up connection takes TLS when it is offered.
async fn make_tls_only(pg: &PrivatePostgres) -> String {
    let data_dir = pg.data_dir().to_owned();
    let ca = blocking(move || write_certificates(&data_dir)).await;
    let hba = pg.data_dir().join("pg_hba.conf");
    let owner = std::fs::metadata(pg.data_dir()).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        &hba,
        "local all all trust\n\
         hostssl all all 127.0.0.1/32 trust\n\
         hostnossl all all 127.0.0.1/32 reject\n",
    )
    .unwrap_or_else(|e| panic!("write {}: {e}", hba.display()));
    std::os::unix::fs::chown(&hba, Some(owner.uid()), Some(owner.gid()))
        .unwrap_or_else(|e| panic!("chown: {e}"));
    let url = format!("{}?sslmode=prefer", pg.url("postgres"));
    let mut admin = PgConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    for statement in [
        "ALTER SYSTEM SET ssl = on",
        "ALTER SYSTEM SET ssl_cert_file = 'server.crt'",
        "ALTER SYSTEM SET ssl_key_file = 'server.key'",
        "SELECT pg_reload_conf()",
    ] {
        sqlx::query(statement)
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    // The reload reaches the server asynchronously: wait until a plain connection is
    // refused (a new connection reads the new pg_hba.conf).
    let plain = format!("{}?sslmode=disable", pg.url("postgres"));
    eventually(
        "the server to refuse plain connections",
        Duration::from_secs(30),
        || async { PgConnection::connect(&plain).await.err().map(|_| ()) },
    )
    .await;
    ca
}

#[tokio::test]
async fn the_binary_connects_to_a_tls_only_server_and_a_plain_connection_is_a_clear_error() {
    let pg = blocking(|| {
        let pg = PrivatePostgres::new(default_home().join("test-tls"), TLS_PORT)
            .unwrap_or_else(|e| panic!("{e}"));
        pg.ensure_running().unwrap_or_else(|e| panic!("{e}"));
        pg
    })
    .await;
    let ca = make_tls_only(&pg).await;
    // A fresh database each run: the instance outlives the run, and its migration
    // history would be the previous build's.
    let admin_url = format!("{}?sslmode=require", pg.url("postgres"));
    let mut admin = PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("connect {admin_url}: {e}"));
    for statement in [
        "DROP DATABASE IF EXISTS herald_tls WITH (FORCE)",
        "CREATE DATABASE herald_tls",
    ] {
        sqlx::query(statement)
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    let base = pg.url("herald_tls");

    // TLS because the URL asks for it; then also verified against the test CA.
    for url in [
        format!("{base}?sslmode=require"),
        format!("{base}?sslmode=verify-full&sslrootcert={ca}"),
    ] {
        let migrated = herald(Some(&url), &["migrate"]);
        assert!(
            migrated.status.success(),
            "herald migrate over TLS ({url}): {}",
            text(&migrated.stderr)
        );
        let queues = herald(Some(&url), &["queues"]);
        assert!(
            queues.status.success(),
            "herald queues over TLS: {}",
            text(&queues.stderr)
        );
    }

    // A plain connection the server refuses: an error that says so, no panic.
    let refused = herald(Some(&format!("{base}?sslmode=disable")), &["queues"]);
    let stderr = text(&refused.stderr);
    assert!(!refused.status.success(), "a refused connection succeeded");
    assert!(
        stderr.contains("pg_hba.conf") && !stderr.contains("panicked"),
        "the refusal is not explained: {stderr}"
    );
}
