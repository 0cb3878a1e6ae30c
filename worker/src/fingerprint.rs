//! Failure fingerprints: the ONE definition of "the same failure", used by `herald
//! failures`, `herald replay --fingerprint` (and any later consumer, such as error
//! tracking).
//!
//! A fingerprint is the first `FINGERPRINT_LEN` lowercase hex digits of
//! `sha256(job_type + "\0" + error_code + "\0" + normalise(message))`. [`normalise`]
//! removes what varies between occurrences of one cause:
//!
//! | in the message | becomes |
//! |---|---|
//! | a URL `https://host:port/path?query#frag` | `https://host:port/…` (scheme and host kept) |
//! | an e-mail address (or `***@domain` after redaction) | `<email>` |
//! | a UUID | `<uuid>` |
//! | a hex id of 8+ digits containing a digit (`8f3a9c2d…`, `0x1f2e…`) | `<hex>` |
//! | any run of digits, with decimals (`42`, `3.5`, `order_123`) | `<n>` |
//! | runs of whitespace | one space; the ends trimmed |
//!
//! Changing these rules changes every fingerprint: treat them as a stable contract.

use std::sync::LazyLock;

use regex::Regex;
use sha2::{Digest, Sha256};

/// Hex digits in a fingerprint id.
pub(crate) const FINGERPRINT_LEN: usize = 12;

static URL: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s?#]+)[/?#][^\s]*"));
static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?i)(?:\*\*\*|\b[a-z0-9._%+-]+)@[a-z0-9.-]+\.[a-z]{2,}\b"));
static UUID: LazyLock<Regex> = LazyLock::new(|| {
    compile(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
});
static HEX: LazyLock<Regex> = LazyLock::new(|| compile(r"(?i)\b(?:0x)?[0-9a-f]*[0-9][0-9a-f]*\b"));
static NUMBER: LazyLock<Regex> = LazyLock::new(|| compile(r"\d+(?:\.\d+)?"));
static SPACES: LazyLock<Regex> = LazyLock::new(|| compile(r"\s+"));

fn compile(pattern: &str) -> Regex {
    // Constant patterns, exercised by this module's tests.
    #[expect(clippy::expect_used, reason = "constant patterns, covered by tests")]
    Regex::new(pattern).expect("fingerprint pattern compiles")
}

/// `message` with its variable parts replaced (see the module table).
pub fn normalise(message: &str) -> String {
    let text = URL.replace_all(message, "$1/…");
    let text = EMAIL.replace_all(&text, "<email>");
    let text = UUID.replace_all(&text, "<uuid>");
    let text = HEX.replace_all(&text, |c: &regex::Captures<'_>| {
        let token = &c[0];
        let digits = token.trim_start_matches("0x").trim_start_matches("0X");
        if digits.len() >= 8 && digits.chars().any(|ch| ch.is_ascii_alphabetic()) {
            "<hex>".to_owned()
        } else {
            token.to_owned()
        }
    });
    let text = NUMBER.replace_all(&text, "<n>");
    SPACES.replace_all(text.trim(), " ").into_owned()
}

/// The fingerprint id of a failure: job type, error code and normalised message.
pub fn fingerprint(job_type: &str, error_code: &str, message: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(job_type.as_bytes());
    hash.update([0]);
    hash.update(error_code.as_bytes());
    hash.update([0]);
    hash.update(normalise(message).as_bytes());
    let mut id = hex::encode(hash.finalize());
    id.truncate(FINGERPRINT_LEN);
    id
}

/// Parses a fingerprint id given by a user: exactly `FINGERPRINT_LEN` hex digits
/// (any case); returns it lowercased, or an error message.
pub fn parse(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.len() == FINGERPRINT_LEN && text.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(format!(
            "not a fingerprint ({FINGERPRINT_LEN} hex digits, as `herald failures` prints)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_ids_are_normalised_away() {
        assert_eq!(
            normalise("order 12345 failed after 3.5 s"),
            "order <n> failed after <n> s"
        );
        assert_eq!(normalise("job_981 not found"), "job_<n> not found");
    }

    #[test]
    fn uuids_hex_ids_and_emails_are_normalised_away() {
        assert_eq!(
            normalise("user 1b4e28ba-2fa1-11d2-883f-0016d3cca427 missing"),
            "user <uuid> missing"
        );
        assert_eq!(
            normalise("request 8f3a9c2deadbeef0 rejected"),
            "request <hex> rejected"
        );
        assert_eq!(
            normalise("bounce for alice@example.com and ***@example.org"),
            "bounce for <email> and <email>"
        );
    }

    #[test]
    fn urls_keep_only_scheme_and_host() {
        assert_eq!(
            normalise("POST https://hooks.example.com:8443/orders/42?token=x failed"),
            "POST https://hooks.example.com:<n>/… failed"
        );
        assert_eq!(
            normalise("GET http://a.example/b"),
            normalise("GET http://a.example/c/d?e=f")
        );
    }

    #[test]
    fn words_and_whitespace_are_kept_stable() {
        assert_eq!(
            normalise("  upstream   smtp.example.com\tunavailable "),
            "upstream smtp.example.com unavailable"
        );
        assert_eq!(normalise("deadline exceeded"), "deadline exceeded");
    }

    #[test]
    fn the_same_cause_with_different_ids_has_one_fingerprint() {
        let a = fingerprint(
            "notify.email",
            "UPSTREAM_UNAVAILABLE",
            "smtp down for job 17",
        );
        let b = fingerprint(
            "notify.email",
            "UPSTREAM_UNAVAILABLE",
            "smtp down for job 942",
        );
        assert_eq!(a, b);
        assert_eq!(a.len(), FINGERPRINT_LEN);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }

    #[test]
    fn type_code_or_message_changes_the_fingerprint() {
        let base = fingerprint("t", "NOT_FOUND", "gone");
        assert_ne!(base, fingerprint("u", "NOT_FOUND", "gone"));
        assert_ne!(base, fingerprint("t", "CONFLICT", "gone"));
        assert_ne!(base, fingerprint("t", "NOT_FOUND", "missing"));
        assert_ne!(fingerprint("ab", "c", "m"), fingerprint("a", "bc", "m"));
    }

    #[test]
    fn the_fingerprint_of_a_known_failure_never_changes() {
        // A stored contract: operators paste these ids into scripts and tickets.
        let expected = {
            let mut h = Sha256::new();
            h.update(b"t\0C\0m <n>");
            hex::encode(h.finalize())[..FINGERPRINT_LEN].to_owned()
        };
        assert_eq!(fingerprint("t", "C", "m 7"), expected);
    }

    #[test]
    fn user_fingerprints_must_be_twelve_hex_digits() {
        assert_eq!(parse("ABCDEF012345"), Ok("abcdef012345".to_owned()));
        assert!(parse("abc").is_err());
        assert!(parse("xyzxyzxyzxyz").is_err());
        assert!(parse("abcdef0123456").is_err());
    }
}
