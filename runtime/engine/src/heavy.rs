//! Where long calls run: a runtime of its own whose threads run at a lower
//! scheduling priority than the host's workers. A call starts on its
//! caller's task (a quick call costs no task and no thread hop); once the
//! guest has run for [`crate::MOVE_AFTER`], the rest of it moves here, so a
//! model that computes for seconds, or floods the log, no longer holds up
//! quick calls queued on the same worker: the kernel gives the workers the
//! CPU first.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::runtime::{Handle, Runtime};

/// The nice value of the heavy pool's threads (the host's are at 0): the
/// kernel's fair scheduler gives a thread at 10 about a tenth of the CPU a
/// thread at 0 gets when both want it, and all of it when the other is idle.
const HEAVY_NICE: i32 = 10;

pub(crate) struct HeavyPool {
    handle: Handle,
    /// Taken only by `drop`.
    runtime: Option<Runtime>,
}

impl HeavyPool {
    /// `threads` workers (at least one).
    pub(crate) fn new(threads: usize) -> std::io::Result<HeavyPool> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("mlops-heavy")
            .on_thread_start(lower_priority)
            .enable_all()
            .build()?;
        Ok(HeavyPool { handle: runtime.handle().clone(), runtime: Some(runtime) })
    }

    pub(crate) fn handle(&self) -> &Handle {
        &self.handle
    }
}

impl Drop for HeavyPool {
    fn drop(&mut self) {
        // The engine may be dropped inside an async context, where a
        // runtime may not block on its own shutdown.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Set by the epoch callback when a call has run for [`crate::MOVE_AFTER`]:
/// from then on the call belongs in the heavy pool.
#[derive(Clone, Default)]
pub(crate) struct Ticked(Arc<AtomicBool>);

impl Ticked {
    pub(crate) fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// Lowers the calling thread's scheduling priority to nice 10 (Linux: the
/// nice value is per thread). `SCHED_IDLE` was tried as well: no better
/// for quick calls in the two-loops experiment (bench/contention.sh), and
/// it would starve long calls outright on a busy host, where nice 10 still
/// gives them a share. Elsewhere, or when refused, only the separation of
/// workers remains.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    #[allow(unsafe_code, reason = "setpriority(2) has no safe wrapper in std")]
    // SAFETY: gettid and setpriority take plain integers and touch no memory
    // of this process; on Linux, PRIO_PROCESS with a thread id sets the
    // nice value of that thread alone.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid);
        if let Ok(tid) = libc::id_t::try_from(tid) {
            libc::setpriority(libc::PRIO_PROCESS, tid, HEAVY_NICE);
        }
    }
}
