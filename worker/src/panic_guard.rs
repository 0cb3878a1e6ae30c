//! Catching handler panics with their message, location and backtrace.
//!
//! [`CatchPanic`] polls a handler's future inside `catch_unwind`, with a thread-local
//! flag set; the process panic hook ([`install_hook`]) sees the flag and stores the
//! panic's details for the guard instead of printing them. Panics outside handlers go to
//! the previous hook unchanged. The handler's panic is therefore reported once, in the
//! attempt's own log event and audit row.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Once;
use std::task::{Context, Poll};

use crate::audit::PanicReport;

thread_local! {
    static IN_HANDLER: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<PanicReport>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Installs the panic hook (once per process; later calls do nothing).
pub(crate) fn install_hook() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_HANDLER.with(Cell::get) {
                previous(info);
                return;
            }
            let backtrace = std::backtrace::Backtrace::capture();
            let report = PanicReport {
                message: payload_message(info.payload()),
                location: info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line())),
                backtrace: matches!(
                    backtrace.status(),
                    std::backtrace::BacktraceStatus::Captured
                )
                .then(|| backtrace.to_string()),
            };
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(report));
        }));
    });
}

fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// A future that turns a panic of its inner future into `Err(PanicReport)`.
pub(crate) struct CatchPanic<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future> CatchPanic<F> {
    /// Guards `inner`.
    pub(crate) fn new(inner: F) -> Self {
        Self {
            inner: Box::pin(inner),
        }
    }
}

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, PanicReport>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.as_mut();
        IN_HANDLER.with(|f| f.set(true));
        let polled = catch_unwind(AssertUnwindSafe(|| inner.poll(cx)));
        IN_HANDLER.with(|f| f.set(false));
        match polled {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => {
                let report = LAST_PANIC
                    .with(|p| p.borrow_mut().take())
                    .unwrap_or_else(|| PanicReport {
                        message: payload_message(payload.as_ref()),
                        location: None,
                        backtrace: None,
                    });
                Poll::Ready(Err(report))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_becomes_a_report_with_its_location() {
        install_hook();
        let result = CatchPanic::new(async {
            if true {
                panic!("boom {}", 7);
            }
        })
        .await;
        let report = result.err();
        assert_eq!(report.as_ref().map(|r| r.message.as_str()), Some("boom 7"));
        let location = report.and_then(|r| r.location).unwrap_or_default();
        assert!(
            location.starts_with("worker/src/panic_guard.rs:"),
            "{location}"
        );
    }

    #[tokio::test]
    async fn output_passes_through() {
        assert_eq!(CatchPanic::new(async { 42 }).await.ok(), Some(42));
    }
}
