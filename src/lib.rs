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
//! Alting barriers (JCSP `AltingBarrier`): offered as guards of an [`Alternative`]; an event fires
//! only when every enrolled front-end offers it, and a select commits to at most one event.
//!
//! ```no_run
//! use muster::{Region, RegionConfig, Select};
//! # fn main() -> Result<(), muster::Error> {
//! let region = Region::open_or_create("goldsmith", &RegionConfig::default())?;
//! # region.alting_create("a", 2)?; region.alting_create("b", 2)?;
//! let a = region.alting_attach("a", 0)?; // front-end 0 of "a", owned by this thread
//! let b = region.alting_attach("b", 0)?;
//! let mut alt = region.alternative()?;
//! alt.add_alting(&a)?;
//! alt.add_alting(&b)?;
//! match alt.select(Select::Fair, Some(std::time::Duration::from_secs(1))) {
//!     Ok(0) => println!("a happened"),
//!     Ok(_) => println!("b happened"),
//!     Err(muster::Error::Timeout) => println!("nobody offered in time"),
//!     Err(e) => return Err(e),
//! }
//! # Ok(()) }
//! ```
//!
//! Memory ordering: everything a participant did before arriving happens-before everything any
//! participant does after its wait returns, in every process.
#![deny(unsafe_op_in_unsafe_fn)]

mod heap;

pub use heap::HeapBarrier;
/// Removing regions without pulling them from under live processes (`muster rm`/`clean`).
pub use muster_shm::clean;
/// Read-only inspection of regions without joining them (what `muster ls`/`show` print); also
/// [`Region::inspect`].
pub use muster_shm::inspect;
pub use muster_shm::{
    Action, Alternative, AltingBarrier, Arrival, Barrier, Channel, Error, Region, RegionConfig, Result, Select,
    WaitPolicy, WaitResult,
};
