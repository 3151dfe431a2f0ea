//! Muster's shared-memory layer: named regions under `/dev/shm`, their layout and validation, the
//! shared futex, process liveness, and handles on the barriers that live in a region.
//!
//! Everything read from a region is untrusted: another process may be buggy or dead. Every index
//! is bounds-checked through [`mapping::Mapping::get`], loops over region data are capped by the
//! region's validated capacities, and a malformed file yields [`Error::Corrupt`] or
//! [`Error::Version`], never a panic or undefined behaviour.
#![deny(unsafe_op_in_unsafe_fn)]

pub mod alting;
pub mod barrier;
pub mod clean;
pub mod cluster_config;
pub mod error;
pub mod futex;
pub mod inspect;
pub mod layout;
mod liveness;
pub mod load;
pub mod mapping;
pub mod name;
mod process;
pub mod region;
mod registry;

pub use alting::{Alternative, AltingBarrier, Channel, Select};
pub use barrier::{Action, Arrival, Barrier, WaitResult};
pub use cluster_config::ClusterConfig;
pub use error::{Error, Result};
pub use muster_core::wait::WaitPolicy;
pub use region::{Region, RegionConfig};
