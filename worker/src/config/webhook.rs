//! `notify.webhook` signing settings (Standard Webhooks, see `herald_jobs::notify::webhook`).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `HERALD_WEBHOOK_SIGNING_KEYS` | (none) | comma-separated `whsec_<base64>` secrets; every key signs each request (one `v1,` signature each), so a receiver can move from the old key to the new one |
//! | `HERALD_WEBHOOK_UNSIGNED` | `false` | `true` delivers webhooks unsigned, on purpose; without it (or a key) a worker running `notify.webhook` refuses to start |
//! | `HERALD_WEBHOOK_SIGNING_KEY` | – | the old single raw key: refused with a pointer to `HERALD_WEBHOOK_SIGNING_KEYS` (the scheme changed, receivers must too) |

use herald_jobs::notify::webhook::parse_secret;

use super::ConfigError;
use super::parse::invalid;

/// How `notify.webhook` signs its requests.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct WebhookSigning {
    /// Raw HMAC keys, in configuration order; each signs every request.
    pub(crate) keys: Vec<Vec<u8>>,
    /// Unsigned delivery was chosen explicitly (`HERALD_WEBHOOK_UNSIGNED=true`).
    pub(crate) unsigned: bool,
}

impl std::fmt::Debug for WebhookSigning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSigning")
            .field("keys", &format!("[{} redacted]", self.keys.len()))
            .field("unsigned", &self.unsigned)
            .finish()
    }
}

impl WebhookSigning {
    /// Reads the variables above through `get`. Fails on a malformed key (the error
    /// never repeats it), on the retired `HERALD_WEBHOOK_SIGNING_KEY`, and on keys given
    /// together with `HERALD_WEBHOOK_UNSIGNED=true`.
    pub(super) fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        if get("HERALD_WEBHOOK_SIGNING_KEY").is_some() {
            return Err(invalid(
                "HERALD_WEBHOOK_SIGNING_KEY",
                "[REDACTED]",
                "replaced by HERALD_WEBHOOK_SIGNING_KEYS=whsec_<base64>[,whsec_<base64>] (Standard Webhooks signatures; receivers must verify the new scheme)",
            ));
        }
        let mut keys = Vec::new();
        for (n, part) in get("HERALD_WEBHOOK_SIGNING_KEYS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .enumerate()
        {
            let key = parse_secret(part).map_err(|reason| {
                invalid(
                    "HERALD_WEBHOOK_SIGNING_KEYS",
                    "[REDACTED]",
                    &format!("key {}: {reason}", n + 1),
                )
            })?;
            keys.push(key);
        }
        let unsigned = match get("HERALD_WEBHOOK_UNSIGNED").as_deref().map(str::trim) {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(other) => return Err(invalid("HERALD_WEBHOOK_UNSIGNED", other, "true or false")),
        };
        if unsigned && !keys.is_empty() {
            return Err(invalid(
                "HERALD_WEBHOOK_UNSIGNED",
                "true",
                "contradicts HERALD_WEBHOOK_SIGNING_KEYS: choose one",
            ));
        }
        Ok(Self { keys, unsigned })
    }

    /// Whether a worker running `notify.webhook` may start: it needs a key, or unsigned
    /// delivery chosen explicitly. The error says how to fix it.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.keys.is_empty() && !self.unsigned {
            return Err("no signing key: set HERALD_WEBHOOK_SIGNING_KEYS=whsec_<base64> (several, comma-separated, while rotating), or HERALD_WEBHOOK_UNSIGNED=true to deliver unsigned on purpose".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<WebhookSigning, ConfigError> {
        WebhookSigning::from_lookup(&|name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn a_worker_without_a_key_must_choose_unsigned_delivery_explicitly() {
        let none = read(&[]).unwrap_or_default();
        assert!(
            none.check()
                .is_err_and(|e| e.contains("HERALD_WEBHOOK_UNSIGNED=true"))
        );
        let unsigned = read(&[("HERALD_WEBHOOK_UNSIGNED", "true")]).unwrap_or_default();
        assert_eq!(unsigned.check(), Ok(()));
    }

    #[test]
    fn several_keys_are_read_in_order_for_rotation() {
        let signing = read(&[(
            "HERALD_WEBHOOK_SIGNING_KEYS",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, whsec_bmV3LXNpZ25pbmcta2V5LTIwMjY=",
        )])
        .unwrap_or_default();
        assert_eq!(signing.keys.len(), 2);
        assert_eq!(signing.keys[1], b"new-signing-key-2026".to_vec());
        assert_eq!(signing.check(), Ok(()));
        assert!(!format!("{signing:?}").contains("MfKQ"));
    }

    #[test]
    fn bad_keys_and_contradictions_are_start_up_errors_that_hide_the_key() {
        let cases: [&[(&str, &str)]; 4] = [
            &[("HERALD_WEBHOOK_SIGNING_KEYS", "topsecretkey")],
            &[("HERALD_WEBHOOK_SIGNING_KEY", "topsecretkey")],
            &[("HERALD_WEBHOOK_UNSIGNED", "yes")],
            &[
                ("HERALD_WEBHOOK_UNSIGNED", "true"),
                (
                    "HERALD_WEBHOOK_SIGNING_KEYS",
                    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                ),
            ],
        ];
        for vars in cases {
            let error = read(vars).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(!error.is_empty(), "{vars:?} accepted");
            assert!(
                !error.contains("topsecretkey") && !error.contains("MfKQ"),
                "{error}"
            );
        }
    }
}
