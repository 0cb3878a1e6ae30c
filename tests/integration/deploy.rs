//! The shipped operations files: Prometheus rules (checked and unit-tested by the real
//! `promtool`), the OpenTelemetry Collector configuration and the Grafana dashboard.

use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| panic!("the tests crate lives in the repository"))
}

fn promtool(args: &[&str]) -> String {
    let output = Command::new("promtool")
        .args(args)
        .current_dir(repo().join("deploy/prometheus"))
        .output()
        .unwrap_or_else(|e| panic!("run promtool (Debian package `prometheus`): {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "promtool {args:?} failed:\n{text}");
    text
}

#[test]
fn the_alert_rules_pass_promtool_check() {
    let text = promtool(&["check", "rules", "herald-rules.yml"]);
    assert!(text.contains("SUCCESS"), "{text}");
}

#[test]
fn the_alert_rules_pass_their_promtool_unit_tests() {
    let text = promtool(&["test", "rules", "herald-rules.test.yml"]);
    assert!(text.contains("SUCCESS"), "{text}");
}

#[test]
fn the_rules_cover_every_condition_the_seed_names() {
    let text = std::fs::read_to_string(repo().join("deploy/prometheus/herald-rules.yml"))
        .unwrap_or_else(|e| panic!("{e}"));
    for alert in [
        "HeraldJobFailureRateHigh",
        "HeraldCriticalEvent",
        "HeraldHandlerPanics",
        "HeraldDbPoolExhausted",
        "HeraldWorkerSilent",
        "HeraldPruningStopped",
        "HeraldAuditPartitionsNotAhead",
        "HeraldDeadTuplesPilingUp",
        "HeraldTransactionHorizonHeld",
        "HeraldConsoleErrorRateHigh",
        "HeraldConsoleStreamErrorRateHigh",
    ] {
        assert!(text.contains(&format!("alert: {alert}")), "{alert} missing");
    }
}

fn names(map: &Yaml) -> Vec<String> {
    map.as_hash()
        .map(|h| {
            h.keys()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn list(y: &Yaml) -> Vec<String> {
    y.as_vec()
        .map(|v| {
            v.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_collector_pipeline_names_defined_components() {
    let text = std::fs::read_to_string(repo().join("otel-collector.yaml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("YAML: {e}"));
    let cfg = &docs[0];
    let receivers = names(&cfg["receivers"]);
    let processors = names(&cfg["processors"]);
    let exporters = names(&cfg["exporters"]);
    let connectors = names(&cfg["connectors"]);
    let extensions = names(&cfg["extensions"]);
    for ext in list(&cfg["service"]["extensions"]) {
        assert!(extensions.contains(&ext), "extension {ext} is not defined");
    }
    let pipelines = cfg["service"]["pipelines"]
        .as_hash()
        .unwrap_or_else(|| panic!("service.pipelines missing"));
    assert!(!pipelines.is_empty());
    let (mut used_as_exporter, mut used_as_receiver) = (Vec::new(), Vec::new());
    for (name, p) in pipelines {
        let name = name.as_str().unwrap_or("?");
        let (r, pr, e) = (
            list(&p["receivers"]),
            list(&p["processors"]),
            list(&p["exporters"]),
        );
        assert!(
            !r.is_empty() && !e.is_empty(),
            "{name} needs receivers and exporters"
        );
        for x in &r {
            assert!(
                receivers.contains(x) || connectors.contains(x),
                "{name}: receiver {x} undefined"
            );
        }
        for x in &pr {
            assert!(processors.contains(x), "{name}: processor {x} undefined");
        }
        for x in &e {
            assert!(
                exporters.contains(x) || connectors.contains(x),
                "{name}: exporter {x} undefined"
            );
        }
        assert_eq!(
            pr.first().map(String::as_str),
            Some("memory_limiter"),
            "{name}: memory_limiter first"
        );
        assert_eq!(
            pr.last().map(String::as_str),
            Some("batch"),
            "{name}: batch last"
        );
        used_as_exporter.extend(e.into_iter().filter(|x| connectors.contains(x)));
        used_as_receiver.extend(r.into_iter().filter(|x| connectors.contains(x)));
    }
    for c in &connectors {
        assert!(
            used_as_exporter.contains(c) && used_as_receiver.contains(c),
            "connector {c} must both end one pipeline and start another"
        );
    }
    let otlp = &cfg["receivers"]["otlp"]["protocols"];
    assert!(
        !otlp["grpc"].is_badvalue() && !otlp["http"].is_badvalue(),
        "OTLP over gRPC and HTTP"
    );
    for e in ["otlp/jaeger", "otlp/tempo", "prometheus"] {
        assert!(exporters.contains(&e.to_owned()), "exporter {e} missing");
    }
}

#[test]
fn the_dashboard_queries_only_metrics_herald_exports() {
    let text = std::fs::read_to_string(repo().join("deploy/grafana/herald.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let dashboard: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let panels = dashboard["panels"].as_array().cloned().unwrap_or_default();
    assert!(
        panels.len() >= 6,
        "throughput, failure rate, outcomes, latency, depth, dead"
    );
    assert_only_exported_metrics("the dashboard", &text);
    for name in herald::console::metrics::NAMES {
        assert!(text.contains(name), "no dashboard panel shows {name}");
    }
    assert!(
        text.contains("0.05"),
        "the failure-rate panel shows the 5 % line"
    );
    assert!(
        text.contains("traceId") || text.contains("trace_id"),
        "a link from a job to its trace"
    );
}

/// Every metric name the worker or the console exports (histograms without suffixes).
fn exported() -> Vec<&'static str> {
    let mut known = herald_worker::telemetry::metrics::NAMES.to_vec();
    known.extend_from_slice(herald::console::metrics::NAMES);
    known
}

/// Asserts every `herald_…` metric `text` names is one Herald exports.
fn assert_only_exported_metrics(what: &str, text: &str) {
    let known = exported();
    let metric = regex_lite_names(text);
    assert!(!metric.is_empty());
    for m in metric {
        let base = m
            .trim_end_matches("_bucket")
            .trim_end_matches("_count")
            .trim_end_matches("_sum");
        assert!(
            known.contains(&base),
            "{what} queries {m}, which Herald does not export"
        );
    }
}

#[test]
fn the_alert_rules_query_only_metrics_herald_exports() {
    let text = std::fs::read_to_string(repo().join("deploy/prometheus/herald-rules.yml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_only_exported_metrics("a rule", &text);
    let tests = std::fs::read_to_string(repo().join("deploy/prometheus/herald-rules.test.yml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_only_exported_metrics("a rule test", &tests);
}

/// Every `herald_…` metric name mentioned in `text`.
fn regex_lite_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(pos) = text[i..].find("herald_") {
        let start = i + pos;
        let end = text[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(text.len(), |e| start + e);
        let preceded = start > 0
            && (bytes[start - 1].is_ascii_alphanumeric()
                || bytes[start - 1] == b'_'
                || bytes[start - 1] == b':');
        if !preceded {
            out.push(text[start..end].to_owned());
        }
        i = end;
    }
    out.sort();
    out.dedup();
    out
}
