//! The atomics the protocols are written against.
//!
//! Normal builds use `core::sync::atomic`; `RUSTFLAGS="--cfg loom"` swaps in loom's model-checked
//! atomics so the same algorithm is explored exhaustively by the model tests (`core/tests/loom_*.rs`).

#[cfg(not(loom))]
pub use core::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};
#[cfg(loom)]
pub use loom::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};

/// One step of a busy-wait loop (a `pause` on x86; a scheduling point under loom).
#[inline(always)]
pub fn spin_hint() {
    #[cfg(loom)]
    loom::hint::spin_loop();
    #[cfg(not(loom))]
    core::hint::spin_loop();
}
