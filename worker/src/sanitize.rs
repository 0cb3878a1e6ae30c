//! Redaction and log-injection defence for any text that reaches a log line, a span, an
//! audit row or CLI output.
//!
//! [`sanitize`] first [`redact`]s secrets, then [`escape_controls`] so that user text
//! (payload fields, upstream responses, error messages) cannot forge a log line or an
//! audit field, then caps the length at `MAX_MESSAGE_CHARS`.
//!
//! | what | becomes |
//! |---|---|
//! | `password=…`, `"token": "…"`, `api_key: …` (any of the `SECRET_KEYS`, inside a key: `X-Amz-Signature=`, `access_token=`, `smtp_passwd:`) | `password=[REDACTED]` |
//! | a key that is exactly one of the `SHORT_SECRET_KEYS` (`pw=`, `pass:`, `db_pass=`, `pin=`; not `bypass=` or `passes=`) | `pw=[REDACTED]` |
//! | a URL query parameter named one of the `QUERY_SECRET_KEYS` (`?sig=…`, `&code=…`, `?key=…`) | `?sig=[REDACTED]` |
//! | a well-known token shape, wherever it stands: AWS key ids `AKIA…`/`ASIA…` (20 chars), GitHub `ghp_…`/`gho_…`/`github_pat_…`, Slack `xox[baprs]-…`, Stripe `sk_live_…`/`rk_test_…`, Google `AIza…`, JWTs `eyJ….eyJ….…`, PEM private keys | `[REDACTED-TOKEN]` |
//! | `Authorization: Bearer …` / `Basic …` | `Bearer [REDACTED]` |
//! | `scheme://user:pass@host` | `scheme://[REDACTED]@host` |
//! | a Luhn-valid run of 13–19 digits (spaces/dashes allowed) | `[REDACTED-CARD]` |
//! | `123-45-6789` | `[REDACTED-SSN]` |
//! | `alice@example.com` | `***@example.com` |
//! | `<root@localhost>` (an address in angle brackets, as SMTP replies quote it) | `<***@localhost>` |
//! | newline, CR, tab, ESC and other control characters | `\n`, `\r`, `\t`, `\u{1b}` … |
//!
//! Kept on purpose (tested as a table): job ids, timestamps, UUIDs, trace ids, Herald
//! fingerprints and hashes named as such (`sha256 9f86d0…`, `commit 3f2c1a9`), `error.code=`.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// Longest message kept, in characters; longer text is cut and marked `…[truncated]`.
pub(crate) const MAX_MESSAGE_CHARS: usize = 2_000;

/// Key names whose values are always redacted (matched case-insensitively, as a
/// substring of the key, so `smtp_password` and `X-Api-Key` count).
pub(crate) const SECRET_KEYS: &str = "password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|authorization|credential|cookie|session[_-]?id|signature";

/// Short key names redacted only when they are the whole key (or its last `_`/`.`/`-`
/// part): as substrings they would catch `bypass` or `passenger`.
pub(crate) const SHORT_SECRET_KEYS: &str = "pw|pass|pin";

/// URL query parameters whose values are redacted (signed URLs, OAuth codes, API keys);
/// only after `?` or `&`, so `error.code=` in a message is kept.
pub(crate) const QUERY_SECRET_KEYS: &str = "sig|code|key|auth|state|otp";

/// The placeholder for a redacted value.
pub(crate) const REDACTED: &str = "[REDACTED]";

static KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r#"(?i)(?P<key>["']?[\w.-]*(?:{SECRET_KEYS})[\w.-]*["']?\s*[:=]\s*)(?P<value>"(?:[^"\\]|\\.)*"|'[^']*'|(?:Bearer|Basic|Token)\s+[^\s,;"'}}&]+|[^\s,;"'}}&]+)"#
    ))
});
static SHORT_KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r#"(?i)(?P<pre>^|[^\w.-])(?P<key>["']?(?:[\w.-]*[_.-])?(?:{SHORT_SECRET_KEYS})["']?\s*[:=]\s*)(?P<value>"(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;"'}}&]+)"#
    ))
});
static QUERY_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    compile(&format!(
        r#"(?i)(?P<key>[?&](?:{QUERY_SECRET_KEYS})=)[^&\s#"']+"#
    ))
});
static TOKEN: LazyLock<Regex> = LazyLock::new(|| {
    compile(concat!(
        r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}\b",
        r"|\bgh[pousr]_[A-Za-z0-9]{30,}\b|\bgithub_pat_[A-Za-z0-9_]{22,}",
        r"|\bxox[baprs]-[A-Za-z0-9-]{10,}",
        r"|\b[sr]k_(?:live|test)_[A-Za-z0-9]{10,}",
        r"|\bAIza[0-9A-Za-z_-]{35}",
        r"|\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*",
        r"|-----BEGIN [A-Z ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
    ))
});
static AUTH_SCHEME: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?i)\b(?P<scheme>Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}"));
static URL_USERINFO: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?i)(?P<scheme>[a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]*@"));
static DIGIT_RUN: LazyLock<Regex> = LazyLock::new(|| compile(r"\b\d(?:[ -]?\d){12,18}\b"));
static SSN: LazyLock<Regex> = LazyLock::new(|| compile(r"\b\d{3}-\d{2}-\d{4}\b"));
static BRACKETED_EMAIL: LazyLock<Regex> =
    LazyLock::new(|| compile(r"<[^<>@\s]+@(?P<domain>[^<>@\s]+)>"));
static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?i)\b[a-z0-9._%+-]+@(?P<domain>[a-z0-9.-]+\.[a-z]{2,})\b"));

fn compile(pattern: &str) -> Regex {
    // The patterns are constants checked by this module's tests; a failure here is a
    // programming error caught before release.
    #[expect(clippy::expect_used, reason = "constant patterns, covered by tests")]
    Regex::new(pattern).expect("redaction pattern compiles")
}

/// Redacts, escapes control characters and caps the length: the one function to call on
/// text from outside before it is logged, audited or printed.
pub fn sanitize(text: &str) -> String {
    let redacted = redact(text);
    let escaped = escape_controls(&redacted);
    truncate(escaped.into_owned())
}

/// Removes secrets (see the module table). Email local parts are masked too.
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    out = replace(out, &KEY_VALUE, |c| format!("{}{REDACTED}", &c["key"]));
    out = replace(out, &SHORT_KEY_VALUE, |c| {
        format!("{}{}{REDACTED}", &c["pre"], &c["key"])
    });
    out = replace(out, &QUERY_PARAM, |c| format!("{}{REDACTED}", &c["key"]));
    out = replace(out, &TOKEN, |_| "[REDACTED-TOKEN]".to_owned());
    out = replace(out, &AUTH_SCHEME, |c| {
        format!("{} {REDACTED}", &c["scheme"])
    });
    out = replace(out, &URL_USERINFO, |c| {
        format!("{}{REDACTED}@", &c["scheme"])
    });
    out = replace(out, &SSN, |_| "[REDACTED-SSN]".to_owned());
    out = replace(out, &DIGIT_RUN, |c| {
        let run = &c[0];
        if luhn_valid(run) {
            "[REDACTED-CARD]".to_owned()
        } else {
            run.to_owned()
        }
    });
    out = replace(out, &BRACKETED_EMAIL, |c| format!("<***@{}>", &c["domain"]));
    replace(out, &EMAIL, |c| format!("***@{}", &c["domain"]))
}

fn replace<'a>(
    text: Cow<'a, str>,
    pattern: &Regex,
    with: impl Fn(&Captures<'_>) -> String,
) -> Cow<'a, str> {
    if !pattern.is_match(&text) {
        return text;
    }
    Cow::Owned(
        pattern
            .replace_all(&text, |c: &Captures<'_>| with(c))
            .into_owned(),
    )
}

/// Whether the digits in `run` (ignoring spaces and dashes) pass the Luhn check.
pub(crate) fn luhn_valid(run: &str) -> bool {
    let digits: Vec<u32> = run.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Escapes newlines, carriage returns, tabs and every other control character, so the
/// text stays on one line and carries no terminal escapes.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn truncate(mut text: String) -> String {
    if let Some((cut, _)) = text.char_indices().nth(MAX_MESSAGE_CHARS) {
        text.truncate(cut);
        text.push_str("…[truncated]");
    }
    text
}

static SECRET_KEY: LazyLock<Regex> = LazyLock::new(|| compile(&format!("(?i)(?:{SECRET_KEYS})")));

/// A JSON value made safe to print, keeping it valid JSON: the value of every object
/// key naming a secret (see `SECRET_KEYS`) becomes `"[REDACTED]"`, and every other
/// string is [`sanitize`]d (URL credentials, card numbers, e-mail local parts …).
pub fn sanitize_json(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(sanitize(s)),
        Value::Array(items) => Value::Array(items.iter().map(sanitize_json).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if SECRET_KEY.is_match(k) {
                        Value::String(REDACTED.to_owned())
                    } else {
                        sanitize_json(v)
                    };
                    (sanitize(k), v)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_secrets_are_redacted_and_the_json_stays_valid() {
        let value = serde_json::json!({
            "url": "https://user:pw@hooks.example.com/x",
            "headers": {"Authorization": "Bearer abcdef123456", "n": 1},
            "api_key": {"nested": "sk_live_1"},
            "to": ["alice@example.com"]
        });
        let safe = sanitize_json(&value);
        assert_eq!(
            safe,
            serde_json::json!({
                "url": "https://[REDACTED]@hooks.example.com/x",
                "headers": {"Authorization": "[REDACTED]", "n": 1},
                "api_key": "[REDACTED]",
                "to": ["***@example.com"]
            })
        );
    }

    #[test]
    fn key_value_secrets_are_redacted() {
        let cases = [
            ("password=hunter2 next", "password=[REDACTED] next"),
            (
                r#"{"api_key": "sk_live_123"}"#,
                r#"{"api_key": [REDACTED]}"#,
            ),
            ("smtp_password: s3cr3t", "smtp_password: [REDACTED]"),
            ("X-Api-Key=abcdef", "X-Api-Key=[REDACTED]"),
            ("?token=abc&x=1", "?token=[REDACTED]&x=1"),
            (
                "Authorization: Bearer eyJhbGciOi.xyz",
                "Authorization: [REDACTED]",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(redact(input), expected, "{input}");
        }
    }

    #[test]
    fn credential_shapes_are_redacted() {
        let table = [
            // cloud access key ids and prefixed tokens, wherever they stand
            ("key AKIAIOSFODNN7EXAMPLE used", "key [REDACTED-TOKEN] used"),
            ("session ASIAY34FZKBOKMUTVV7A", "session [REDACTED-TOKEN]"),
            (
                "clone with ghp_16C7e42F292c6912E7710c838347Ae178B4a failed",
                "clone with [REDACTED-TOKEN] failed",
            ),
            (
                "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
                "[REDACTED-TOKEN]",
            ),
            (
                "slack xoxb-1234567890-0987654321-AbCdEfGhIjKl rejected",
                "slack [REDACTED-TOKEN] rejected",
            ),
            (
                "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc",
                "stripe [REDACTED-TOKEN]",
            ),
            ("rk_test_51Habcdefghijklmnop", "[REDACTED-TOKEN]"),
            (
                "maps AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe quota",
                "maps [REDACTED-TOKEN] quota",
            ),
            (
                "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U end",
                "jwt [REDACTED-TOKEN] end",
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY----- x",
                "[REDACTED-TOKEN] x",
            ),
            // signed-URL and OAuth query parameters
            (
                "GET https://b.s3.amazonaws.com/o?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F2026&X-Amz-Signature=fe5f80f77d5f&x=1",
                "GET https://b.s3.amazonaws.com/o?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED]&x=1",
            ),
            (
                "https://storage.googleapis.com/b/o?X-Goog-Credential=svc%40p&X-Goog-Signature=0a1b2c",
                "https://storage.googleapis.com/b/o?X-Goog-Credential=[REDACTED]&X-Goog-Signature=[REDACTED]",
            ),
            (
                "https://a.blob.core.windows.net/c/b?sv=2022-11-02&sig=abc%2Bdef%3D&se=x",
                "https://a.blob.core.windows.net/c/b?sv=2022-11-02&sig=[REDACTED]&se=x",
            ),
            (
                "/callback?code=4/0AX4XfWh&state=xyz123",
                "/callback?code=[REDACTED]&state=[REDACTED]",
            ),
            (
                "?access_token=ya29.a0Af&x=1",
                "?access_token=[REDACTED]&x=1",
            ),
            ("/maps?key=abc123&q=berlin", "/maps?key=[REDACTED]&q=berlin"),
            ("&signature=9f86d08188", "&signature=[REDACTED]"),
            // abbreviated password keys, as whole keys only
            ("pw=hunter2 next", "pw=[REDACTED] next"),
            ("login pass: hunter2", "login pass: [REDACTED]"),
            (r#"{"db_pass": "hunter2"}"#, r#"{"db_pass": [REDACTED]}"#),
            ("passwd=hunter2", "passwd=[REDACTED]"),
            ("PWD='hunter 2'", "PWD=[REDACTED]"),
            ("user.pw=hunter2", "user.pw=[REDACTED]"),
            ("pin=1234", "pin=[REDACTED]"),
        ];
        for (input, expected) in table {
            assert_eq!(redact(input), expected, "{input}");
        }
    }

    #[test]
    fn non_secrets_survive_unchanged() {
        let kept = [
            "job 4182 failed on attempt 2 of 5",
            "job.id=4182 error.code=NOT_FOUND error.class=terminal",
            "run at 2026-12-07T04:39:12.123Z (2026-12-07 04:39:12 UTC)",
            "user 1b4e28ba-2fa1-11d2-883f-0016d3cca427 missing",
            "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "commit 3f2c1a9e7b5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b",
            "fingerprint 1a2b3c4d5e6f",
            "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
            "traceparent 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "bypass=true compass=north passes=3 passenger=ann spin=2",
            "POST to hooks.example.com failed: connection refused",
            "https://example.com/search?q=keys&page=2&sort=code",
            "AKIA is a prefix; AKIAshort is not a key id",
            "eyJ alone is not a token",
        ];
        for text in kept {
            assert_eq!(redact(text), text, "{text}");
        }
    }

    #[test]
    fn bare_auth_schemes_and_url_credentials_are_redacted() {
        assert_eq!(redact("sent Bearer abcdef123456"), "sent Bearer [REDACTED]");
        assert_eq!(
            redact("postgres://herald:pa55@db.internal/herald"),
            "postgres://[REDACTED]@db.internal/herald"
        );
    }

    #[test]
    fn luhn_valid_cards_are_redacted_and_other_numbers_kept() {
        assert_eq!(
            redact("card 4111 1111 1111 1111 ok"),
            "card [REDACTED-CARD] ok"
        );
        assert_eq!(redact("card 4111-1111-1111-1111"), "card [REDACTED-CARD]");
        assert_eq!(redact("order 4111111111111112"), "order 4111111111111112");
        assert_eq!(redact("job 12345"), "job 12345");
    }

    #[test]
    fn ssns_and_email_local_parts_are_masked() {
        assert_eq!(redact("ssn 123-45-6789"), "ssn [REDACTED-SSN]");
        assert_eq!(redact("to alice.smith@example.com"), "to ***@example.com");
    }

    #[test]
    fn smtp_replies_lose_recipient_addresses_and_smtp_credentials() {
        let cases = [
            (
                "SMTP relay mx.test answered 550 5.1.1 <bob+550@example.com>: Recipient address rejected",
                "SMTP relay mx.test answered 550 5.1.1 <***@example.com>: Recipient address rejected",
            ),
            (
                "550 5.1.1 <root@localhost>: mailbox unknown",
                "550 5.1.1 <***@localhost>: mailbox unknown",
            ),
            (
                "RCPT TO:<ann.lee+news@mail.example.co.uk> rejected",
                "RCPT TO:<***@mail.example.co.uk> rejected",
            ),
            (
                "HERALD_SMTP_PASSWORD=hunter2 set",
                "HERALD_SMTP_PASSWORD=[REDACTED] set",
            ),
            (
                "smtp://mailer:hunter2@smtp.example.com:587",
                "smtp://[REDACTED]@smtp.example.com:587",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(sanitize(input), expected, "{input}");
        }
    }

    #[test]
    fn control_characters_cannot_forge_lines() {
        let forged = "ok\n2026-01-01 ERROR fake\r\x1b[31mred\u{85}";
        let escaped = sanitize(forged);
        assert_eq!(
            escaped,
            "ok\\n2026-01-01 ERROR fake\\r\\u{1b}[31mred\\u{85}"
        );
        assert!(!escaped.chars().any(char::is_control));
    }

    #[test]
    fn long_text_is_truncated() {
        let long = "a".repeat(MAX_MESSAGE_CHARS + 10);
        let cut = sanitize(&long);
        assert!(cut.ends_with("…[truncated]"));
        assert_eq!(
            cut.chars().count(),
            MAX_MESSAGE_CHARS + "…[truncated]".chars().count()
        );
    }

    #[test]
    fn clean_text_is_unchanged_and_not_copied() {
        assert!(matches!(redact("all good"), Cow::Borrowed(_)));
        assert!(matches!(escape_controls("all good"), Cow::Borrowed(_)));
    }
}
