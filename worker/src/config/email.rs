//! The `notify.email` channel's settings (read by [`super::WorkerConfig::from_lookup`]).
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `HERALD_SMTP_HOST` | (none: `notify.email` is not registered) | the SMTP relay |
//! | `HERALD_SMTP_PORT` | 587 (`starttls`), 465 (`implicit`), 25 (`none`) | its port |
//! | `HERALD_SMTP_TLS` | `starttls` | `starttls` (required), `implicit` or `none` (plain, for localhost) |
//! | `HERALD_SMTP_USERNAME`, `HERALD_SMTP_PASSWORD` | (none: no AUTH) | SMTP AUTH credentials; both or neither |
//! | `HERALD_SMTP_TIMEOUT` | `30s` | how long one send may take, from connecting to the relay's last reply |
//! | `HERALD_EMAIL_FROM` | required with `HERALD_SMTP_HOST` | the `From` mailbox, e.g. `Shop <noreply@shop.example>` |
//! | `HERALD_EMAIL_MESSAGE_ID_DOMAIN` | the `From` address's domain | domain of `<herald-job-{id}@domain>` |
//! | `HERALD_EMAIL_TEMPLATES` | `templates/email` | the template folder (checked at start-up) |
//! | `HERALD_EMAIL_RATE_LIMIT` | `off` | messages per second to the relay, per worker process, on top of any fleet-wide limit; the relay's quota belongs in a fleet-wide limit on the job type: `herald limits set notify.email --rate 10 --reason "relay quota"` |
//! | `HERALD_SMTP_POOL_MAX_IDLE` | `100` | idle relay connections kept for the next message (0 to 10000; `0`: one connection per message) |
//! | `HERALD_SMTP_POOL_IDLE_TIMEOUT` | `60s` | a kept connection unused this long is closed (1s to 1h) |

use std::path::PathBuf;
use std::time::Duration;

use herald_jobs::notify::{SmtpPoolSettings, SmtpTls};

use super::ConfigError;
use super::parse::{duration, invalid, number};

/// The shipped template folder, relative to the working directory.
pub(crate) const DEFAULT_TEMPLATES: &str = "templates/email";

/// Settings of the `notify.email` channel; `None` in [`super::WorkerConfig`] when
/// `HERALD_SMTP_HOST` is unset.
#[derive(Clone)]
pub(crate) struct EmailConfig {
    /// The relay's host.
    pub(crate) host: String,
    /// The relay's port.
    pub(crate) port: u16,
    /// Transport security.
    pub(crate) tls: SmtpTls,
    /// SMTP AUTH user name.
    pub(crate) username: Option<String>,
    /// SMTP AUTH password (never logged).
    pub(crate) password: Option<String>,
    /// How long one send may take.
    pub(crate) timeout: Duration,
    /// The `From` mailbox.
    pub(crate) from: String,
    /// The Message-ID domain.
    pub(crate) message_id_domain: String,
    /// The template folder.
    pub(crate) templates: PathBuf,
    /// Messages per second per process; `None` for no limit.
    pub(crate) rate_limit: Option<f64>,
    /// Connection reuse (`HERALD_SMTP_POOL_*`).
    pub(crate) pool: SmtpPoolSettings,
}

impl std::fmt::Debug for EmailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("auth", &self.username.is_some())
            .field("message_id_domain", &self.message_id_domain)
            .field("templates", &self.templates)
            .field("rate_limit", &self.rate_limit)
            .field("pool", &self.pool)
            .finish_non_exhaustive()
    }
}

impl EmailConfig {
    /// Reads the channel's variables through `get`; `Ok(None)` without a relay host.
    pub(crate) fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let Some(host) = get("HERALD_SMTP_HOST") else {
            return Ok(None);
        };
        let tls = match get("HERALD_SMTP_TLS").as_deref() {
            None | Some("starttls") => SmtpTls::StartTls,
            Some("implicit") => SmtpTls::Implicit,
            Some("none") => SmtpTls::None,
            Some(other) => {
                return Err(invalid(
                    "HERALD_SMTP_TLS",
                    other,
                    "starttls, implicit or none",
                ));
            }
        };
        let default_port = match tls {
            SmtpTls::StartTls => 587,
            SmtpTls::Implicit => 465,
            SmtpTls::None => 25,
        };
        let port = match get("HERALD_SMTP_PORT") {
            None => default_port,
            Some(v) => v
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| invalid("HERALD_SMTP_PORT", &v, "a port from 1 to 65535"))?,
        };
        let (username, password) = (get("HERALD_SMTP_USERNAME"), get("HERALD_SMTP_PASSWORD"));
        if username.is_some() != password.is_some() {
            return Err(ConfigError::Missing(if username.is_some() {
                "HERALD_SMTP_PASSWORD"
            } else {
                "HERALD_SMTP_USERNAME"
            }));
        }
        let from = get("HERALD_EMAIL_FROM").ok_or(ConfigError::Missing("HERALD_EMAIL_FROM"))?;
        let from_domain = from
            .trim_end_matches('>')
            .rsplit_once('@')
            .map(|(_, d)| d.trim().to_owned())
            .filter(|d| !d.is_empty())
            .ok_or_else(|| {
                invalid(
                    "HERALD_EMAIL_FROM",
                    &from,
                    "a mailbox such as Shop <noreply@shop.example>",
                )
            })?;
        let rate_limit = match get("HERALD_EMAIL_RATE_LIMIT").as_deref() {
            None | Some("off") => None,
            Some(v) => Some(
                v.parse::<f64>()
                    .ok()
                    .filter(|r| r.is_finite() && *r > 0.0)
                    .ok_or_else(|| {
                        invalid(
                            "HERALD_EMAIL_RATE_LIMIT",
                            v,
                            "messages per second (> 0) or off",
                        )
                    })?,
            ),
        };
        Ok(Some(Self {
            host,
            port,
            tls,
            username,
            password,
            timeout: duration(get, "HERALD_SMTP_TIMEOUT", Duration::from_secs(30))?,
            from,
            message_id_domain: get("HERALD_EMAIL_MESSAGE_ID_DOMAIN").unwrap_or(from_domain),
            templates: PathBuf::from(
                get("HERALD_EMAIL_TEMPLATES").unwrap_or_else(|| DEFAULT_TEMPLATES.to_owned()),
            ),
            rate_limit,
            pool: pool(get)?,
        }))
    }
}

/// `HERALD_SMTP_POOL_MAX_IDLE` and `HERALD_SMTP_POOL_IDLE_TIMEOUT`, within their ranges.
fn pool(get: &impl Fn(&str) -> Option<String>) -> Result<SmtpPoolSettings, ConfigError> {
    let defaults = SmtpPoolSettings::default();
    Ok(SmtpPoolSettings {
        max_idle: number(get, "HERALD_SMTP_POOL_MAX_IDLE", defaults.max_idle)?,
        idle_timeout: duration(get, "HERALD_SMTP_POOL_IDLE_TIMEOUT", defaults.idle_timeout)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn email(vars: &[(&str, &str)]) -> Result<Option<EmailConfig>, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        EmailConfig::from_lookup(&|k: &str| map.get(k).cloned())
    }

    #[test]
    fn without_a_relay_host_the_channel_is_off() {
        assert!(matches!(email(&[]), Ok(None)));
    }

    #[test]
    fn defaults_follow_the_tls_mode_and_the_sender() {
        let cfg = email(&[
            ("HERALD_SMTP_HOST", "smtp.example.com"),
            ("HERALD_EMAIL_FROM", "Shop <noreply@shop.example>"),
        ]);
        let cfg = cfg.ok().flatten();
        assert_eq!(cfg.as_ref().map(|c| c.port), Some(587));
        assert_eq!(cfg.as_ref().map(|c| c.tls), Some(SmtpTls::StartTls));
        assert_eq!(
            cfg.as_ref().map(|c| c.message_id_domain.as_str()),
            Some("shop.example")
        );
        assert_eq!(cfg.as_ref().and_then(|c| c.rate_limit), None);
        assert_eq!(
            cfg.as_ref().map(|c| c.pool),
            Some(SmtpPoolSettings {
                max_idle: 100,
                idle_timeout: Duration::from_secs(60)
            })
        );
        let unpooled = email(&[
            ("HERALD_SMTP_HOST", "h"),
            ("HERALD_EMAIL_FROM", "a@b.example"),
            ("HERALD_SMTP_POOL_MAX_IDLE", "0"),
        ]);
        assert_eq!(unpooled.ok().flatten().map(|c| c.pool.max_idle), Some(0));
        let implicit = email(&[
            ("HERALD_SMTP_HOST", "h"),
            ("HERALD_EMAIL_FROM", "a@b.example"),
            ("HERALD_SMTP_TLS", "implicit"),
        ]);
        assert_eq!(implicit.ok().flatten().map(|c| c.port), Some(465));
    }

    #[test]
    fn bad_email_settings_fail_at_start_up_with_the_variable_named() {
        let base = [
            ("HERALD_SMTP_HOST", "h"),
            ("HERALD_EMAIL_FROM", "a@b.example"),
        ];
        let cases = [
            ("HERALD_SMTP_TLS", "ssl"),
            ("HERALD_SMTP_PORT", "0"),
            ("HERALD_EMAIL_RATE_LIMIT", "fast"),
            ("HERALD_SMTP_TIMEOUT", "never"),
            ("HERALD_EMAIL_FROM", "nobody"),
            ("HERALD_SMTP_POOL_MAX_IDLE", "10001"),
            ("HERALD_SMTP_POOL_MAX_IDLE", "-1"),
            ("HERALD_SMTP_POOL_IDLE_TIMEOUT", "500ms"),
            ("HERALD_SMTP_POOL_IDLE_TIMEOUT", "2h"),
        ];
        for (name, value) in cases {
            let mut vars = base.to_vec();
            vars.retain(|(k, _)| *k != name);
            vars.push((name, value));
            let err = email(&vars).err();
            assert!(
                matches!(err, Some(ConfigError::Invalid { name: n, .. }) if n == name),
                "{name}={value}: {err:?}"
            );
        }
        let half_auth = email(&[base[0], base[1], ("HERALD_SMTP_USERNAME", "u")]).err();
        assert_eq!(
            half_auth,
            Some(ConfigError::Missing("HERALD_SMTP_PASSWORD"))
        );
    }

    #[test]
    fn debug_output_hides_the_password() {
        let cfg = email(&[
            ("HERALD_SMTP_HOST", "h"),
            ("HERALD_EMAIL_FROM", "a@b.example"),
            ("HERALD_SMTP_USERNAME", "mailer"),
            ("HERALD_SMTP_PASSWORD", "hunter2-smtp"),
        ]);
        let text = format!("{cfg:?}");
        assert!(
            !text.contains("hunter2-smtp") && text.contains("auth: true"),
            "{text}"
        );
    }
}
