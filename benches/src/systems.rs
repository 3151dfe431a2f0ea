//! The systems under test and how each one is run.

/// A barrier implementation the harness can measure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum System {
    /// Muster's counted barrier in a named shared-memory region, one process per party.
    Muster,
    /// Muster's in-process heap barrier, one thread per party.
    MusterHeap,
    /// `pthread_barrier_wait` with `PTHREAD_PROCESS_SHARED` in a `MAP_SHARED` mapping.
    Pthread,
    /// A barrier built from POSIX semaphores (`sem_init(pshared = 1)`) in shared memory.
    Sem,
    /// A coordinator process and N workers over Unix-domain sockets.
    Broker,
    /// Rust's `std::sync::Barrier`, one thread per party.
    Std,
    /// A naive sense-reversing spin barrier in shared memory.
    Spin,
    /// The same spin barrier, but `sched_yield` after a few spins.
    SpinYield,
    /// OpenMP's `#pragma omp barrier` (libgomp), threads; C helper.
    Omp,
    /// Open MPI's `MPI_Barrier`, processes under `mpirun`; C helper.
    Mpi,
}

/// How a system's parties are run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// N copies of this binary (`--worker SYSTEM --id I`).
    Processes,
    /// One copy of this binary running N threads (`--worker SYSTEM --threads N`).
    Threads,
    /// The OpenMP helper binary.
    Omp,
    /// The MPI helper binary under `mpirun`.
    Mpi,
}

impl System {
    pub const ALL: [System; 10] = [
        System::Muster,
        System::MusterHeap,
        System::Pthread,
        System::Sem,
        System::Broker,
        System::Std,
        System::Spin,
        System::SpinYield,
        System::Omp,
        System::Mpi,
    ];

    pub fn name(self) -> &'static str {
        match self {
            System::Muster => "muster",
            System::MusterHeap => "muster-heap",
            System::Pthread => "pthread",
            System::Sem => "sem",
            System::Broker => "broker",
            System::Std => "std",
            System::Spin => "spin",
            System::SpinYield => "spin-yield",
            System::Omp => "omp",
            System::Mpi => "mpi",
        }
    }

    /// What the system is, for tables and the plot legend.
    pub fn label(self) -> &'static str {
        match self {
            System::Muster => "Muster (processes, shm region)",
            System::MusterHeap => "Muster HeapBarrier (threads)",
            System::Pthread => "pthread_barrier PROCESS_SHARED (processes)",
            System::Sem => "POSIX semaphores, pshared (processes)",
            System::Broker => "broker over Unix sockets (processes)",
            System::Std => "std::sync::Barrier (threads)",
            System::Spin => "naive spin, sense-reversing (processes)",
            System::SpinYield => "spin then sched_yield (processes)",
            System::Omp => "OpenMP barrier, libgomp (threads)",
            System::Mpi => "Open MPI MPI_Barrier (processes)",
        }
    }

    pub fn parse(s: &str) -> Option<System> {
        System::ALL.into_iter().find(|sys| sys.name() == s)
    }

    pub fn kind(self) -> Kind {
        match self {
            System::MusterHeap | System::Std => Kind::Threads,
            System::Omp => Kind::Omp,
            System::Mpi => Kind::Mpi,
            _ => Kind::Processes,
        }
    }
}

/// The workload between barriers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// Back-to-back barriers: the barrier's own cost.
    Plain,
    /// Each party does a uniformly random 0–20 µs of busy work before every barrier.
    Phased,
}

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Plain => "plain",
            Scenario::Phased => "phased",
        }
    }

    pub fn parse(s: &str) -> Option<Scenario> {
        [Scenario::Plain, Scenario::Phased].into_iter().find(|sc| sc.name() == s)
    }

    /// Upper bound of the busy work per episode in ns.
    pub fn work_max_ns(self) -> u64 {
        match self {
            Scenario::Plain => 0,
            Scenario::Phased => 20_000,
        }
    }
}
