//! Reading a worker's `/metrics` over HTTP.

use std::net::SocketAddr;

/// A free port on 127.0.0.1 (bound, noted, released).
pub fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| panic!("free port: {e}"))
}

/// Scrapes `http://<addr>/metrics`; `None` while nothing answers.
pub async fn scrape(addr: SocketAddr) -> Option<String> {
    let response = reqwest::get(format!("http://{addr}/metrics")).await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.text().await.ok()
}

/// The value of the sample `name{labels}` (labels exactly as exposed, e.g.
/// `job_type="x",outcome="dead"`; empty for none), or `None` when absent.
pub fn sample(text: &str, name: &str, labels: &str) -> Option<f64> {
    let key = if labels.is_empty() {
        name.to_owned()
    } else {
        format!("{name}{{{labels}}}")
    };
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        l.strip_prefix(key.as_str())?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}
