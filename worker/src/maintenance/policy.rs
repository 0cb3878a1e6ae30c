//! The retention policy as the database reads it: one JSON object, the same one every
//! pruning statement is given and every run records (`herald.maintenance_runs.policy`),
//! so a run's record says exactly which ages it applied.
//!
//! | key | value |
//! |---|---|
//! | `succeeded`, `dead`, `cancelled`, `failed_attempts`, `operator_actions`, `maintenance_runs`, `console_events` | the class's default age, in seconds |
//! | `queues` | `{ "<queue>": { "<class>": seconds, … }, … }`: per-queue overrides |
//!
//! `herald.retention_age(policy, class, queue)` (migration `20261208000100`) reads it:
//! the queue's override when present, else the class's default.

use serde_json::{Map, Value, json};

use crate::config::{RetentionClass, RetentionPolicy};

/// `policy` as the JSON object described in the module docs.
pub fn policy_json(policy: &RetentionPolicy) -> Value {
    let mut out = Map::new();
    for class in RetentionClass::ALL {
        out.insert(
            class.as_str().to_owned(),
            json!(policy.class_age(class).age.as_secs_f64()),
        );
    }
    let queues: Map<String, Value> = policy
        .queue_overrides()
        .iter()
        .map(|(queue, ages)| {
            let ages: Map<String, Value> = ages
                .iter()
                .map(|(class, age)| (class.as_str().to_owned(), json!(age.as_secs_f64())))
                .collect();
            (queue.clone(), Value::Object(ages))
        })
        .collect();
    out.insert("queues".to_owned(), Value::Object(queues));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_reads_as_seconds_per_class_and_no_queue_overrides() {
        let v = policy_json(&RetentionPolicy::default());
        assert_eq!(v["succeeded"], json!(259_200.0));
        assert_eq!(v["dead"], json!(2_592_000.0));
        assert_eq!(v["failed_attempts"], json!(2_592_000.0));
        assert_eq!(v["operator_actions"], json!(31_536_000.0));
        assert_eq!(v["queues"], json!({}));
    }
}
