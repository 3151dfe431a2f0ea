//! # Muster
//!
//! Lock-free barriers for OS processes on one Linux host, with no broker. Barrier state lives in
//! a named shared-memory region (`/dev/shm`); waiters spin briefly, yield, then sleep on shared
//! futexes; a process that dies while others wait for it is detected through a liveness token and
//! breaks the barrier with [`Error::PeerDied`] instead of hanging everyone.
//!
//! ```no_run
//! use muster::{Region, RegionConfig};
//! # fn main() -> Result<(), muster::Error> {
//! // In every process (the first one creates the region):
//! let region = Region::open_or_create("my-app", &RegionConfig::default())?;
//! let phase = region.barrier("phase", 4)?;      // counted barrier: 4 parties
//! for step in 0..10 {
//!     // ... work of this phase ...
//!     let r = phase.wait()?;                     // everyone's work before is visible after
//!     if r.is_leader() {
//!         println!("step {step} done (generation {})", r.generation);
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Membership barriers (`parties == 0`, The Grinder / JCSP `Barrier` style) count enrolled member
//! handles instead: [`Region::join`] opens and enrolls, [`Barrier::resign`] withdraws.
//!
//! Memory ordering: everything a participant did before arriving happens-before everything any
//! participant does after its wait returns, in every process.
#![deny(unsafe_op_in_unsafe_fn)]

mod heap;

pub use heap::HeapBarrier;
pub use muster_shm::{
    Alternative, AltingBarrier, Barrier, Channel, Error, Region, RegionConfig, Result, Select, WaitPolicy, WaitResult,
};
