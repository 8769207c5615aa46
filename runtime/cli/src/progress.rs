//! Progress of uploads and downloads: a bar on a terminal, one line
//! otherwise.

use std::io::IsTerminal as _;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressStyle};
use mlops_registry::Progress;

use crate::commands::models::human_bytes;

/// Shows a transfer on stderr.
pub struct TransferProgress {
    bar: Mutex<Option<ProgressBar>>,
    terminal: bool,
}

impl TransferProgress {
    pub fn new() -> Self {
        TransferProgress { bar: Mutex::new(None), terminal: std::io::stderr().is_terminal() }
    }
}

impl Progress for TransferProgress {
    fn start(&self, what: &str, files: u64, bytes: u64) {
        if !self.terminal {
            eprintln!("{what}: {files} file(s), {}", human_bytes(bytes));
            return;
        }
        let bar = ProgressBar::new(bytes);
        if let Ok(style) = ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_string());
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, bytes: u64) {
        if let Ok(slot) = self.bar.lock()
            && let Some(bar) = slot.as_ref()
        {
            bar.inc(bytes);
        }
    }

    fn finish(&self) {
        if let Ok(mut slot) = self.bar.lock()
            && let Some(bar) = slot.take()
        {
            bar.finish_and_clear();
        }
    }
}

/// A step of unknown length (compiling a component): a spinner with the
/// elapsed time on a terminal, nothing otherwise (the step's result line
/// says how long it took).
pub struct Spinner(Option<ProgressBar>);

impl Spinner {
    pub fn start(what: String) -> Self {
        if !std::io::stderr().is_terminal() {
            return Spinner(None);
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
            bar.set_style(style);
        }
        bar.set_message(what);
        bar.enable_steady_tick(std::time::Duration::from_millis(100));
        Spinner(Some(bar))
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}
