//! What the host keeps per instance (the store's data) and the host side of
//! the guest's imports: logging, stdout/stderr capture, the memory limiter
//! and the deadline.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::logging::{self, Level};

/// Lines a guest may log per call before further lines are dropped.
pub(crate) const MAX_LOG_LINES_PER_CALL: u32 = 1000;
/// Longest log message kept; longer ones are cut.
pub(crate) const MAX_LOG_MESSAGE: usize = 4096;
/// How much of the guest's stdout/stderr is kept (the tail) per call.
pub(crate) const OUTPUT_TAIL_BYTES: usize = 8192;

/// The data of one instance's store.
pub(crate) struct HostState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limiter: MemoryLimiter,
    /// When the running call must end; `None` between calls.
    pub(crate) deadline: Option<Instant>,
    /// When the running call started.
    pub(crate) started: Instant,
    /// Set when the epoch callback stopped a call at its deadline.
    pub(crate) timed_out: bool,
    /// The running prediction's flag, set when it has run for
    /// [`crate::MOVE_AFTER`] (it then moves to the heavy pool).
    pub(crate) ticked: Option<crate::heavy::Ticked>,
    pub(crate) output: GuestOutput,
    /// Who is logging (the service or model id), for the host's log.
    pub(crate) name: Arc<str>,
    pub(crate) log_lines: u32,
    /// For a training run: the output folder and its cap.
    pub(crate) output_watch: Option<OutputWatch>,
    /// When profiling: when the call entered and left wasm (and host).
    pub(crate) trace: Option<Vec<(std::time::Instant, wasmtime::CallHook)>>,
    /// The model's secret values, masked in what it logs and prints.
    pub(crate) redact: Redactor,
}

/// Masks secret values in text a model produces (log lines, printed
/// output, error messages) before the host logs or returns it: a model
/// that logs its API key does not put it in the host's logs.
#[derive(Clone, Default)]
pub(crate) struct Redactor(Arc<[String]>);

impl Redactor {
    pub(crate) fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut values: Vec<String> = values.into_iter().filter(|v| !v.is_empty()).collect();
        // Longest first, so a secret containing another is masked whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        Redactor(values.into())
    }

    /// `text` with every secret value masked; borrowed (no copy) when it
    /// holds none, as nearly all text does.
    pub(crate) fn apply<'a>(&self, text: &'a str) -> std::borrow::Cow<'a, str> {
        let mut out = std::borrow::Cow::Borrowed(text);
        for v in self.0.iter() {
            if out.contains(v.as_str()) {
                out = std::borrow::Cow::Owned(out.replace(v.as_str(), "[redacted]"));
            }
        }
        out
    }
}

/// Watches a training run's output folder against its cap.
pub(crate) struct OutputWatch {
    pub(crate) dir: std::path::PathBuf,
    pub(crate) cap: u64,
    pub(crate) exceeded: bool,
}

impl OutputWatch {
    /// Whether the folder holds more than the cap (and remembers it).
    pub(crate) fn over(&mut self) -> bool {
        self.exceeded |= folder_size(&self.dir) > self.cap;
        self.exceeded
    }
}

/// Bytes in the regular files under `dir` (symlinks not followed).
pub(crate) fn folder_size(dir: &std::path::Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push(e.path()),
                Ok(t) if t.is_file() => total += e.metadata().map_or(0, |m| m.len()),
                _ => {}
            }
        }
    }
    total
}

impl HostState {
    /// Resets per-call state before a call.
    pub(crate) fn start_call(&mut self, started: Instant, limit: std::time::Duration) {
        if let Some(trace) = self.trace.as_mut() {
            trace.clear();
        }
        self.started = started;
        self.deadline = Some(started + limit);
        self.timed_out = false;
        self.limiter.refused = false;
        self.log_lines = 0;
        self.output.clear();
    }

    /// Forwards what the guest printed during the call to the host's log
    /// (debug level) and clears it.
    pub(crate) fn finish_call(&mut self) {
        self.deadline = None;
        self.ticked = None;
        let printed = self.output.take();
        let text = self.redact.apply(&printed);
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            tracing::debug!(target: "model", model = %self.name, "{line}");
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl logging::Host for HostState {
    fn log(&mut self, level: Level, message: String, fields: Vec<(String, String)>) {
        self.log_lines += 1;
        if self.log_lines > MAX_LOG_LINES_PER_CALL {
            if self.log_lines == MAX_LOG_LINES_PER_CALL + 1 {
                tracing::warn!(target: "model", model = %self.name,
                    "more than {MAX_LOG_LINES_PER_CALL} log lines in one call; dropping the rest");
            }
            return;
        }
        let mut line = truncate(&message, MAX_LOG_MESSAGE).to_string();
        for (k, v) in &fields {
            line.push_str(&format!(" {}={}", truncate(k, 64), truncate(v, 256)));
        }
        let line = self.redact.apply(&line);
        let model = &self.name;
        match level {
            Level::Trace => tracing::trace!(target: "model", %model, "{line}"),
            Level::Debug => tracing::debug!(target: "model", %model, "{line}"),
            Level::Info => tracing::info!(target: "model", %model, "{line}"),
            Level::Warn => tracing::warn!(target: "model", %model, "{line}"),
            Level::Error => tracing::error!(target: "model", %model, "{line}"),
        }
    }
}

impl crate::bindings::types::Host for HostState {}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Caps an instance's linear memory, summed over all its memories, and
/// remembers when it refused to grow so the failure can be named.
pub(crate) struct MemoryLimiter {
    pub(crate) cap: usize,
    pub(crate) used: usize,
    pub(crate) refused: bool,
}

impl MemoryLimiter {
    pub(crate) fn new(cap: usize) -> Self {
        MemoryLimiter { cap, used: 0, refused: false }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let grow = desired.saturating_sub(current);
        match self.used.checked_add(grow) {
            Some(total) if total <= self.cap => {
                self.used = total;
                Ok(true)
            }
            _ => {
                self.refused = true;
                Ok(false)
            }
        }
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// The guest's stdout and stderr: the last [`OUTPUT_TAIL_BYTES`] bytes are
/// kept, so a panic message can go into the error of the call it ended.
/// Writes never fail (a guest that prints a lot keeps running).
#[derive(Clone, Default)]
pub(crate) struct GuestOutput(Arc<Mutex<VecDeque<u8>>>);

impl GuestOutput {
    fn with<R>(&self, f: impl FnOnce(&mut VecDeque<u8>) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn push(&self, bytes: &[u8]) {
        self.with(|buf| {
            let bytes = &bytes[bytes.len().saturating_sub(OUTPUT_TAIL_BYTES)..];
            let overflow = (buf.len() + bytes.len()).saturating_sub(OUTPUT_TAIL_BYTES);
            buf.drain(..overflow.min(buf.len()));
            buf.extend(bytes);
        });
    }

    pub(crate) fn clear(&self) {
        self.with(VecDeque::clear);
    }

    /// What was printed since the last clear, as text.
    pub(crate) fn take(&self) -> String {
        let bytes: Vec<u8> = self.with(|buf| buf.drain(..).collect());
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The last `lines` non-empty lines printed, without clearing.
    pub(crate) fn tail(&self, lines: usize) -> String {
        let bytes: Vec<u8> = self.with(|buf| buf.iter().copied().collect());
        let text = String::from_utf8_lossy(&bytes);
        let kept: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        kept[kept.len().saturating_sub(lines)..].join("\n")
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
}

impl OutputStream for GuestOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestOutput {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for GuestOutput {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.push(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_keeps_only_the_tail() {
        let out = GuestOutput::default();
        out.push(&vec![b'a'; OUTPUT_TAIL_BYTES]);
        out.push(b"\nlast line\n");
        let text = out.take();
        assert_eq!(text.len(), OUTPUT_TAIL_BYTES);
        assert!(text.ends_with("\nlast line\n"));
        assert!(out.take().is_empty(), "take clears");
    }

    #[test]
    fn tail_returns_the_last_non_empty_lines() {
        let out = GuestOutput::default();
        out.push(b"one\n\ntwo\nthree\n");
        assert_eq!(out.tail(2), "two\nthree");
    }

    #[test]
    fn the_limiter_sums_memories_and_remembers_a_refusal() {
        let mut l = MemoryLimiter::new(100);
        assert!(l.memory_growing(0, 60, None).unwrap());
        assert!(l.memory_growing(0, 30, None).unwrap());
        assert!(!l.refused);
        assert!(!l.memory_growing(30, 50, None).unwrap(), "60 + 50 > 100");
        assert!(l.refused);
        assert_eq!(l.used, 90);
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("ééé", 3), "é");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
