//! `notify.webhook`: POST a JSON body to a URL, signed the [Standard Webhooks] way, so
//! receivers can verify it with that specification's libraries.
//!
//! Each request carries:
//!
//! | header | value |
//! |---|---|
//! | `Content-Type` | `application/json` |
//! | `webhook-id` | the job id: the same on every attempt and replay, so receivers deduplicate retries |
//! | `webhook-timestamp` | Unix seconds when the attempt was sent |
//! | `webhook-signature` | `v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`, one per signing key, space-separated (key rotation); absent when delivery is explicitly unsigned |
//! | `Idempotency-Key` | the job id (as `webhook-id`) |
//! | `X-Herald-Attempt` | the attempt number |
//!
//! Keys are given in the specification's form `whsec_<base64>` ([`parse_secret`]).
//!
//! Classification ([`classify_status`], [`classify_send_error`]): connection errors and
//! 5xx are `UPSTREAM_UNAVAILABLE`, timeouts and 408 are `TIMEOUT`, 429 is `RATE_LIMITED`
//! honouring `Retry-After` (all retryable); 401/403 are `PERMISSION_DENIED`, 404/410
//! `NOT_FOUND`, 409 `CONFLICT`, any other 4xx and an invalid URL `VALIDATION_ERROR`
//! (all terminal). Messages name the host, never the full URL (it may carry tokens), and
//! a connection failure's stable sub-cause ([`super::cause`]).
//!
//! Cancellation: an operator's cancel of the running job ([`AttemptInfo::cancel`]) drops the
//! in-flight request at once (the connection is closed; the receiver may or may not have
//! acted on it) and the attempt is recorded `cancelled`.
//!
//! [Standard Webhooks]: https://www.standardwebhooks.com/

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::error::JobError;
use crate::job::{AttemptInfo, Job};

/// A webhook notification: POST `body` to `url`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookJob {
    /// Where to POST; `http` or `https`.
    pub url: String,
    /// The JSON body to send.
    pub body: serde_json::Value,
}

/// What every webhook attempt needs: an HTTP client and the signing keys.
#[derive(Clone)]
pub struct WebhookContext {
    client: reqwest::Client,
    signing_keys: Vec<Vec<u8>>,
}

impl std::fmt::Debug for WebhookContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookContext")
            .field(
                "signing_keys",
                &format!("<{} redacted>", self.signing_keys.len()),
            )
            .finish_non_exhaustive()
    }
}

/// How the webhook client keeps connections for reuse (HTTP/1.1 keep-alive).
///
/// One [`WebhookContext`] holds one `reqwest::Client`; every attempt in the process
/// uses it (the context is cloned, the client's pool is shared), so a request to a host
/// that was called recently goes out on an idle connection already open to it instead
/// of a new TCP (and TLS) handshake.
///
/// | field | default | reqwest's own default |
/// |---|---|---|
/// | `idle_timeout` | 60 s | 90 s |
/// | `max_idle_per_host` | 100 (Herald's default queue concurrency) | unbounded |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpPoolSettings {
    /// An idle connection is closed after this long unused.
    pub idle_timeout: Duration,
    /// At most this many idle connections are kept per host; 0 opens a new connection
    /// for every request (no reuse).
    pub max_idle_per_host: usize,
}

impl Default for HttpPoolSettings {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(60),
            max_idle_per_host: 100,
        }
    }
}

impl WebhookContext {
    /// A context whose requests time out after `timeout` and carry one signature per key
    /// of `signing_keys` (raw key bytes, see [`parse_secret`]); no keys, no
    /// `webhook-signature` header (the worker refuses that unless unsigned delivery is
    /// chosen explicitly). Connections are kept as [`HttpPoolSettings::default`] says.
    /// Fails only if the TLS backend cannot initialise.
    pub fn new(signing_keys: Vec<Vec<u8>>, timeout: Duration) -> Result<Self, JobError> {
        Self::with_pool(signing_keys, timeout, HttpPoolSettings::default())
    }

    /// [`WebhookContext::new`] with the connection pool set by `pool`.
    pub fn with_pool(
        signing_keys: Vec<Vec<u8>>,
        timeout: Duration,
        pool: HttpPoolSettings,
    ) -> Result<Self, JobError> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .pool_idle_timeout(pool.idle_timeout)
            .pool_max_idle_per_host(pool.max_idle_per_host)
            .tcp_nodelay(true)
            .build()
            .map_err(|e| {
                JobError::internal("cannot build the HTTP client", Some(Box::new(e) as _))
            })?;
        Ok(Self {
            client,
            signing_keys,
        })
    }
}

impl Job for WebhookJob {
    const KIND: &'static str = "notify.webhook";
    const MAX_ATTEMPTS: u32 = 5;
    const TIMEOUT: Duration = Duration::from_secs(30);
    type Context = WebhookContext;

    fn validate(&self) -> Result<(), JobError> {
        parse_url(&self.url).map(|_| ())
    }

    async fn perform(self, ctx: WebhookContext, attempt: AttemptInfo) -> Result<(), JobError> {
        let url = parse_url(&self.url)?;
        let host = url.host_str().unwrap_or("unknown host").to_owned();
        let body = serde_json::to_vec(&self.body)
            .map_err(|e| JobError::validation("body", e.to_string()))?;
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let id = attempt.job_id.to_string();
        let mut request = ctx
            .client
            .post(url)
            .header("Content-Type", "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", &timestamp)
            .header("Idempotency-Key", &id)
            .header("X-Herald-Attempt", attempt.attempt.to_string());
        if !ctx.signing_keys.is_empty() {
            let signatures = signature_header(&ctx.signing_keys, &id, &timestamp, &body);
            request = request.header("webhook-signature", signatures);
        }
        // An operator's cancel drops the in-flight request (its connection is closed).
        let response = attempt
            .cancel
            .guard(&format!("the POST to {host}"), request.body(body).send())
            .await?
            .map_err(|e| classify_send_error(&host, e))?;
        let retry_after = response
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        classify_status(&host, response.status().as_u16(), retry_after.as_deref())
    }
}

/// The `whsec_` prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// Decodes a signing secret written `whsec_<base64>` (as Standard Webhooks libraries take
/// it) into the raw HMAC key. Fails, with a message that never repeats the secret, when
/// the prefix is missing, the base64 is malformed, or the key is shorter than 16 bytes.
pub fn parse_secret(text: &str) -> Result<Vec<u8>, String> {
    let encoded = text
        .trim()
        .strip_prefix(SECRET_PREFIX)
        .ok_or_else(|| format!("a signing key must be written {SECRET_PREFIX}<base64>"))?;
    let key = BASE64
        .decode(encoded)
        .map_err(|_| format!("the part after {SECRET_PREFIX} is not valid base64"))?;
    if key.len() < 16 {
        return Err("a signing key must decode to at least 16 bytes".to_owned());
    }
    Ok(key)
}

/// One signature: `v1,` + base64 HMAC-SHA256 of `"{id}.{timestamp}.{body}"` under `key`.
pub fn sign(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> String {
    mac(key, id, timestamp, body)
        .map(|mac| format!("v1,{}", BASE64.encode(mac.finalize().into_bytes())))
        .unwrap_or_default()
}

/// The `webhook-signature` value: one [`sign`]ature per key, space-separated, in key order.
pub fn signature_header(keys: &[Vec<u8>], id: &str, timestamp: &str, body: &[u8]) -> String {
    keys.iter()
        .map(|key| sign(key, id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether any `v1` signature in the `webhook-signature` value `header` was made with any
/// of `keys` over `id`, `timestamp` and `body` (compared in constant time). For receivers
/// (the demo's, the tests'); checking the timestamp's age is the receiver's policy.
pub fn verify(keys: &[Vec<u8>], id: &str, timestamp: &str, body: &[u8], header: &str) -> bool {
    header
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|b64| BASE64.decode(b64).ok())
        .any(|given| {
            keys.iter().any(|key| {
                mac(key, id, timestamp, body).is_some_and(|m| m.verify_slice(&given).is_ok())
            })
        })
}

fn mac(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Option<Hmac<Sha256>> {
    // HMAC accepts keys of any length: `new_from_slice` never fails for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(mac)
}

fn parse_url(raw: &str) -> Result<reqwest::Url, JobError> {
    let url = reqwest::Url::parse(raw)
        .map_err(|e| JobError::validation("url", format!("not a valid URL: {e}")))?;
    match url.scheme() {
        "http" | "https" if url.host_str().is_some() => Ok(url),
        _ => Err(JobError::validation(
            "url",
            "must be an http or https URL with a host",
        )),
    }
}

/// Maps a response status to the attempt's result (see the module table).
pub fn classify_status(host: &str, status: u16, retry_after: Option<&str>) -> Result<(), JobError> {
    let message = || format!("POST to {host} returned HTTP {status}");
    match status {
        200..=299 => Ok(()),
        408 => Err(JobError::timeout(message())),
        429 => Err(JobError::rate_limited(
            message(),
            retry_after.and_then(parse_retry_after),
        )),
        401 | 403 => Err(JobError::permission_denied(message())),
        404 | 410 => Err(JobError::not_found(message())),
        409 => Err(JobError::conflict(message())),
        400..=499 => Err(JobError::validation("request", message())),
        _ => Err(JobError::upstream(message(), None)),
    }
}

/// Maps a transport error: timeouts are `TIMEOUT`, the rest `UPSTREAM_UNAVAILABLE`. The
/// message names the host and the stable sub-cause found in the error's chain
/// ([`super::cause::sub_cause`]: `POST to 127.0.0.1 failed: connection refused`); the
/// chain itself, without the URL, stays the error's source.
pub fn classify_send_error(host: &str, error: reqwest::Error) -> JobError {
    if error.is_timeout() {
        return JobError::timeout(format!("POST to {host} timed out"));
    }
    // Drop the URL from the cause: it may carry credentials or tokens.
    let cause = error.without_url();
    let message = match super::cause::sub_cause(&cause) {
        Some(sub) => format!("POST to {host} failed: {sub}"),
        None => format!("POST to {host} failed"),
    };
    JobError::upstream(message, Some(Box::new(cause) as _))
}

/// Parses `Retry-After` as delay-seconds or an HTTP date; `None` if neither.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn statuses_map_to_codes() {
        let table: [(u16, Option<ErrorCode>); 14] = [
            (200, None),
            (204, None),
            (400, Some(ErrorCode::Validation)),
            (401, Some(ErrorCode::PermissionDenied)),
            (403, Some(ErrorCode::PermissionDenied)),
            (404, Some(ErrorCode::NotFound)),
            (408, Some(ErrorCode::Timeout)),
            (409, Some(ErrorCode::Conflict)),
            (410, Some(ErrorCode::NotFound)),
            (422, Some(ErrorCode::Validation)),
            (429, Some(ErrorCode::RateLimited)),
            (500, Some(ErrorCode::UpstreamUnavailable)),
            (502, Some(ErrorCode::UpstreamUnavailable)),
            (503, Some(ErrorCode::UpstreamUnavailable)),
        ];
        for (status, code) in table {
            let got = classify_status("example.test", status, None)
                .err()
                .map(|e| e.code());
            assert_eq!(got, code, "HTTP {status}");
        }
    }

    #[test]
    fn retry_after_seconds_are_honoured() {
        let err = classify_status("h", 429, Some("12")).err();
        assert_eq!(
            err.and_then(|e| e.retry_after()),
            Some(Duration::from_secs(12))
        );
    }

    #[test]
    fn retry_after_http_date_is_parsed() {
        let at = chrono::Utc::now() + chrono::Duration::seconds(30);
        let header = at.to_rfc2822();
        let delay = parse_retry_after(&header).map(|d| d.as_secs());
        assert!(matches!(delay, Some(28..=30)), "{delay:?}");
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn invalid_urls_are_validation_errors() {
        for url in ["not a url", "ftp://example.test/x", "mailto:a@b.c"] {
            let job = WebhookJob {
                url: url.into(),
                body: serde_json::json!({}),
            };
            assert_eq!(
                job.validate().err().map(|e| e.code()),
                Some(ErrorCode::Validation),
                "{url}"
            );
        }
    }

    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: &str = "1614265330";
    const SPEC_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn spec_key() -> Vec<u8> {
        parse_secret(SPEC_SECRET).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn signature_matches_the_standard_webhooks_test_vector() {
        assert_eq!(
            sign(&spec_key(), SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY),
            SPEC_SIGNATURE
        );
        assert!(verify(
            &[spec_key()],
            SPEC_ID,
            SPEC_TIMESTAMP,
            SPEC_BODY,
            SPEC_SIGNATURE
        ));
    }

    #[test]
    fn the_signature_covers_the_id_the_timestamp_and_the_body() {
        let keys = [spec_key()];
        assert!(!verify(
            &keys,
            "msg_other",
            SPEC_TIMESTAMP,
            SPEC_BODY,
            SPEC_SIGNATURE
        ));
        assert!(!verify(
            &keys,
            SPEC_ID,
            "1614265331",
            SPEC_BODY,
            SPEC_SIGNATURE
        ));
        assert!(!verify(
            &keys,
            SPEC_ID,
            SPEC_TIMESTAMP,
            b"{}",
            SPEC_SIGNATURE
        ));
    }

    #[test]
    fn rotation_sends_one_signature_per_key_and_either_key_verifies() {
        let old = spec_key();
        let new =
            parse_secret("whsec_bmV3LXNpZ25pbmcta2V5LTIwMjY=").unwrap_or_else(|e| panic!("{e}"));
        let header = signature_header(&[old.clone(), new.clone()], "42", "1700000000", b"{}");
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(parts.len(), 2, "{header}");
        assert_eq!(parts[0], sign(&old, "42", "1700000000", b"{}"));
        assert_eq!(parts[1], sign(&new, "42", "1700000000", b"{}"));
        assert!(verify(&[old], "42", "1700000000", b"{}", &header));
        assert!(verify(&[new], "42", "1700000000", b"{}", &header));
        let stranger = b"a-key-nobody-configured".to_vec();
        assert!(!verify(&[stranger], "42", "1700000000", b"{}", &header));
    }

    #[test]
    fn malformed_secrets_are_refused_without_repeating_them() {
        for bad in [
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_not base64!",
            "whsec_c2hvcnQ=",
            "",
        ] {
            let error = parse_secret(bad).err().unwrap_or_default();
            assert!(!error.is_empty(), "{bad:?} accepted");
            assert!(bad.len() < 6 || !error.contains(&bad[6..]), "{error}");
        }
    }

    /// The message of one attempt of a webhook to `url`, on real sockets.
    async fn failure_of(url: String) -> String {
        let ctx = WebhookContext::new(vec![b"key".to_vec()], Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("{e}"));
        let job = WebhookJob {
            url,
            body: serde_json::json!({}),
        };
        let attempt = AttemptInfo {
            job_id: 7,
            attempt: 1,
            max_attempts: 5,
            worker_id: "w".into(),
            cancel: crate::Cancellation::new(),
        };
        match job.perform(ctx, attempt).await {
            Ok(()) => panic!("the webhook unexpectedly succeeded"),
            Err(e) => e.to_string(),
        }
    }

    async fn listener() -> (tokio::net::TcpListener, u16) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        (listener, port)
    }

    #[tokio::test]
    async fn connection_failures_name_their_cause_in_the_message() {
        let (closed, refused_port) = listener().await;
        drop(closed);
        let refused = failure_of(format!("http://127.0.0.1:{refused_port}/hook")).await;
        let unresolved = failure_of("http://hooks.herald.invalid/hook".to_owned()).await;

        // https to a listener that answers in plain HTTP: the TLS handshake fails.
        let (plain, plain_port) = listener().await;
        let server = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            if let Ok((mut socket, _)) = plain.accept().await {
                let mut buf = [0u8; 512];
                let _ = socket.read(&mut buf).await;
                let _ = socket
                    .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        let tls = failure_of(format!("https://127.0.0.1:{plain_port}/hook")).await;
        let _ = server.await;

        // A listener that resets the connection as soon as it accepts it.
        let (resetting, reset_port) = listener().await;
        let server = tokio::spawn(async move {
            if let Ok((socket, _)) = resetting.accept().await {
                let _ = socket.set_zero_linger();
                drop(socket);
            }
        });
        let reset = failure_of(format!("http://127.0.0.1:{reset_port}/hook")).await;
        let _ = server.await;

        assert_eq!(
            refused,
            "upstream unavailable: POST to 127.0.0.1 failed: connection refused"
        );
        assert_eq!(
            unresolved,
            "upstream unavailable: POST to hooks.herald.invalid failed: name did not resolve"
        );
        assert_eq!(
            tls,
            "upstream unavailable: POST to 127.0.0.1 failed: TLS failure"
        );
        assert!(
            reset == "upstream unavailable: POST to 127.0.0.1 failed: connection reset"
                || reset
                    == "upstream unavailable: POST to 127.0.0.1 failed: connection closed early",
            "{reset}"
        );
    }

    #[test]
    fn messages_name_the_host_not_the_url() {
        let err = classify_status("hooks.example.test", 503, None).err();
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(
            text,
            "upstream unavailable: POST to hooks.example.test returned HTTP 503"
        );
    }
}
