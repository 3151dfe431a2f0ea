//! Muster's core: the state machines and protocols, with no operating-system calls.
//!
//! Everything here works on `#[repr(C)]` cells of atomics that may live on the heap or in a
//! shared-memory region, and waits through a [`wait::Parker`] supplied by the caller. The same code
//! runs over shared futexes (`muster-shm`), private futexes (the in-process heap barrier) and
//! loom's model (`RUSTFLAGS="--cfg loom" cargo test -p muster-core --release --test loom_barrier`).
#![deny(unsafe_op_in_unsafe_fn)]

pub mod alting;
pub mod barrier;
pub mod contention;
pub mod ranked;
pub mod sync;
pub mod wait;
