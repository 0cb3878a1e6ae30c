//! Traces over OTLP: the exporter, the `tracing` layer that feeds it, and the W3C
//! `traceparent` that links an attempt to the request that enqueued its job.
//!
//! Export is off unless an endpoint is configured (`OTEL_EXPORTER_OTLP_ENDPOINT`, read
//! by `config.rs`): then no OpenTelemetry layer is installed and the attempt spans are
//! disabled callsites, which cost nothing. When it is on, finished spans go into a
//! bounded queue (2,048 spans; further spans are dropped, so memory stays bounded) that
//! a Tokio task exports in batches, so a slow or absent collector never delays a job.
//! A failing export is reported once at WARN and its recovery once at INFO.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{BatchConfigBuilder, SdkTracerProvider, SpanData, SpanExporter};
use tracing::{Level, Subscriber, info, warn};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::registry::LookupSpan;

use super::logs::TRACE_TARGET;
use crate::config::{OtelConfig, OtlpProtocol};

/// A `tracing` layer, boxed.
pub(crate) type BoxedLayer<S> = Box<dyn Layer<S> + Send + Sync>;

/// Spans kept in memory while waiting for export; more are dropped.
const MAX_QUEUED_SPANS: usize = 2048;

/// Builds the tracer provider and the layer feeding it, or `None` when export is off.
/// Must run inside a Tokio runtime. Fails when the exporter cannot be built (for
/// example an endpoint that is not a URL).
pub(crate) fn layer<S>(
    cfg: &OtelConfig,
) -> Result<Option<(SdkTracerProvider, BoxedLayer<S>)>, super::TelemetryError>
where
    S: Subscriber + for<'a> LookupSpan<'a> + Send + Sync,
{
    let Some(endpoint) = cfg.endpoint.clone() else {
        return Ok(None);
    };
    let exporter = match cfg.protocol {
        OtlpProtocol::Grpc => opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .with_timeout(cfg.export_timeout)
            .build(),
        OtlpProtocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_endpoint(http_traces_url(&endpoint))
            .with_timeout(cfg.export_timeout)
            .build(),
    }
    .map_err(super::TelemetryError::Exporter)?;
    let exporter = ReportingExporter {
        inner: exporter,
        endpoint: crate::sanitize::sanitize(&endpoint),
        failing: Arc::new(AtomicBool::new(false)),
    };
    let batch = BatchConfigBuilder::default()
        .with_max_queue_size(MAX_QUEUED_SPANS)
        .with_scheduled_delay(cfg.schedule_delay)
        .with_max_export_timeout(cfg.export_timeout)
        .build();
    let processor = BatchSpanProcessor::builder(exporter, opentelemetry_sdk::runtime::Tokio)
        .with_batch_config(batch)
        .build();
    let resource = Resource::builder_empty()
        .with_service_name(cfg.service_name.clone())
        .with_attributes(
            cfg.resource_attributes
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        )
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("herald");
    let only_herald = Targets::new()
        .with_target(TRACE_TARGET, Level::INFO)
        .with_target("herald::audit", Level::WARN);
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(only_herald)
        .boxed();
    Ok(Some((provider, layer)))
}

/// `OTEL_EXPORTER_OTLP_ENDPOINT` is a base URL; over HTTP traces go to `/v1/traces`.
fn http_traces_url(base: &str) -> String {
    if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{}/v1/traces", base.trim_end_matches('/'))
    }
}

/// Wraps the OTLP exporter to report a failing collector once, not once per batch.
#[derive(Debug)]
struct ReportingExporter<E> {
    inner: E,
    endpoint: String,
    failing: Arc<AtomicBool>,
}

impl<E: SpanExporter> SpanExporter for ReportingExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        let result = self.inner.export(batch).await;
        match &result {
            Err(e) if !self.failing.swap(true, Ordering::AcqRel) => warn!(
                otel.endpoint = %self.endpoint,
                spans,
                error.message = %crate::sanitize::sanitize(&e.to_string()),
                "cannot export traces to the OTLP collector; jobs keep running and spans are dropped until it is back"
            ),
            Ok(()) if self.failing.swap(false, Ordering::AcqRel) => {
                info!(otel.endpoint = %self.endpoint, "exporting traces to the OTLP collector again");
            }
            _ => {}
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// The remote parent a W3C `traceparent` names ([`herald_jobs::Traceparent::parse`]),
/// or an empty context when it is missing or invalid (the attempt then starts a new
/// trace).
pub(crate) fn parent_context(traceparent: Option<&str>) -> Context {
    traceparent
        .and_then(herald_jobs::Traceparent::parse)
        .map(|t| Context::new().with_remote_span_context(t.remote_span_context()))
        .unwrap_or_default()
}

/// The trace id of `cx`'s span as 32 hex digits, if it is valid.
pub(crate) fn trace_id_of(cx: &Context) -> Option<String> {
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_valid_traceparent_becomes_a_remote_parent() {
        let cx = parent_context(Some(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ));
        assert_eq!(
            trace_id_of(&cx).as_deref(),
            Some("4bf92f3577b34da6a3ce929d0e0e4736")
        );
        assert!(cx.span().span_context().is_remote());
    }

    #[test]
    fn invalid_traceparents_start_a_new_trace() {
        for bad in [
            "",
            "garbage",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
        ] {
            assert_eq!(trace_id_of(&parent_context(Some(bad))), None, "{bad}");
        }
        assert_eq!(trace_id_of(&parent_context(None)), None);
    }

    #[test]
    fn http_endpoints_get_the_traces_path_once() {
        assert_eq!(http_traces_url("http://c:4318/"), "http://c:4318/v1/traces");
        assert_eq!(
            http_traces_url("http://c:4318/v1/traces"),
            "http://c:4318/v1/traces"
        );
    }
}
