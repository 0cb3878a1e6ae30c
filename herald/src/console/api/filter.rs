//! The job filter as the API takes it: the CLI's filter fields (`operator::filter`), in
//! a JSON body (`state` a list) or a query string (`state` comma-separated). Values are
//! only ever bound as query parameters.

use serde::Deserialize;

use crate::console::errors::ApiError;
use crate::operator::filter::{JobFilter, State, parse_fingerprint, parse_time_ago};
use herald_worker::sanitize::sanitize;

/// The job filter as the API takes it (the same fields as the CLI's flags).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterBody {
    #[serde(default)]
    pub state: Vec<String>,
    #[serde(rename = "type")]
    pub job_type: Option<String>,
    pub queue: Option<String>,
    pub error_code: Option<String>,
    pub fingerprint: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    /// Text in the id (exactly) or the idempotency key (a substring).
    pub text: Option<String>,
}

impl FilterBody {
    /// Whether no field is given.
    pub fn is_empty(&self) -> bool {
        self.state.is_empty()
            && [
                &self.job_type,
                &self.queue,
                &self.error_code,
                &self.fingerprint,
                &self.since,
                &self.until,
                &self.text,
            ]
            .iter()
            .all(|v| v.is_none())
    }

    /// The CLI's filter (no limit); a bad value is a `VALIDATION_ERROR` naming its field.
    pub fn to_job_filter(&self) -> Result<JobFilter, ApiError> {
        let state = self
            .state
            .iter()
            .map(|s| state_named(s))
            .collect::<Result<Vec<_>, _>>()?;
        let time = |field: &str, v: &Option<String>| {
            v.as_deref()
                .map(|t| {
                    parse_time_ago(t)
                        .map_err(|why| ApiError::Validation(format!("filter.{field}: {why}")))
                })
                .transpose()
        };
        let fingerprint = self
            .fingerprint
            .as_deref()
            .map(|f| {
                parse_fingerprint(f)
                    .map_err(|why| ApiError::Validation(format!("filter.fingerprint: {why}")))
            })
            .transpose()?;
        Ok(JobFilter {
            state,
            job_type: self.job_type.clone().filter(|v| !v.is_empty()),
            queue: self.queue.clone().filter(|v| !v.is_empty()),
            error_code: self.error_code.clone().filter(|v| !v.is_empty()),
            fingerprint,
            since: time("since", &self.since)?,
            until: time("until", &self.until)?,
            text: self
                .text
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned),
            limit: None,
        })
    }
}

fn state_named(name: &str) -> Result<State, ApiError> {
    use clap::ValueEnum;
    State::from_str(name.trim(), true).map_err(|_| {
        ApiError::Validation(format!("filter.state: unknown state {:?}", sanitize(name)))
    })
}
