//! [`HeapBarrier`]: the same barrier algorithm for the threads of one process, on the heap,
//! sleeping on private futexes.

use muster_core::barrier::{BarrierCell, CancelOutcome, StateError, WaitError, MAX_PARTIES};
use muster_core::wait::Adaptive;
use muster_shm::futex::{monotonic_ns, process_policy, PrivateParker};
use muster_shm::{Error, Result, WaitResult};
use std::time::Duration;

/// An in-process counted barrier (like `std::sync::Barrier`, plus timeouts, abort and reset).
pub struct HeapBarrier {
    cell: Box<BarrierCell>,
    adapt: Adaptive,
}

impl HeapBarrier {
    /// A barrier for `parties` threads (1..=16383).
    pub fn new(parties: u32) -> Result<HeapBarrier> {
        if parties == 0 || parties > MAX_PARTIES {
            return Err(Error::InvalidArgument("parties must be 1..=16383"));
        }
        Ok(HeapBarrier { cell: Box::new(BarrierCell::new(parties, 0)), adapt: Adaptive::new() })
    }

    /// Waits for the other parties; returns the arrival index and generation.
    pub fn wait(&self) -> Result<WaitResult> {
        self.wait_deadline(None)
    }

    /// Waits at most `timeout`; on timeout the barrier breaks for everyone waiting.
    pub fn wait_timeout(&self, timeout: Duration) -> Result<WaitResult> {
        let ns = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        self.wait_deadline(Some(monotonic_ns().saturating_add(ns)))
    }

    fn wait_deadline(&self, deadline: Option<u64>) -> Result<WaitResult> {
        let t = self.cell.arrive(&PrivateParker).map_err(|e| match e {
            StateError::Broken(_) => Error::Broken,
            _ => Error::Corrupt("heap barrier state".into()),
        })?;
        let done = WaitResult { index: t.index, generation: u64::from(t.generation) };
        match self.cell.wait(&PrivateParker, process_policy(), &t, deadline, Some(&self.adapt), || ()) {
            Ok(()) => Ok(done),
            Err(WaitError::Broken(_)) => Err(Error::Broken),
            Err(WaitError::TimedOut) => match self.cell.cancel(&PrivateParker, &t) {
                CancelOutcome::Released | CancelOutcome::Completing => Ok(done),
                CancelOutcome::Broken(_) => Err(Error::Broken),
                CancelOutcome::Withdrawn => Err(Error::Timeout),
            },
        }
    }

    /// Breaks the barrier for everyone waiting and arriving until [`HeapBarrier::reset`].
    pub fn abort(&self) {
        self.cell.abort(&PrivateParker)
    }

    /// Starts a fresh generation; current waiters get [`Error::Broken`].
    pub fn reset(&self) {
        self.cell.reset(&PrivateParker)
    }

    /// Parties per generation.
    pub fn parties(&self) -> u32 {
        self.cell.state().parties
    }

    /// Whether the barrier is broken.
    pub fn is_broken(&self) -> bool {
        self.cell.state().broken
    }
}
