//! Progress of long transfers, for whoever wants to show it.

/// Told how a transfer of many bytes goes. Implementations must be cheap:
/// `advance` is called per chunk.
pub trait Progress: Send + Sync {
    /// A transfer of `files` files, `bytes` bytes in all, begins.
    fn start(&self, what: &str, files: u64, bytes: u64);
    /// `bytes` more bytes were moved.
    fn advance(&self, bytes: u64);
    /// The transfer ended (successfully or not).
    fn finish(&self);
}

/// Shows nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _what: &str, _files: u64, _bytes: u64) {}
    fn advance(&self, _bytes: u64) {}
    fn finish(&self) {}
}
