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
    /// The dissemination barrier (log2 N rounds of one-way flag writes), spin then `sched_yield`.
    Dissemination,
    /// OpenMP's `#pragma omp barrier`, GCC's libgomp (`gcc -fopenmp`), threads; C helper.
    Omp,
    /// The same helper built with `clang -fopenmp`: LLVM's libomp, threads.
    LibOmp,
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
    /// An OpenMP helper binary (libgomp or libomp).
    Omp,
    /// The MPI helper binary under `mpirun`.
    Mpi,
}

impl System {
    pub const ALL: [System; 12] = [
        System::Muster,
        System::MusterHeap,
        System::Pthread,
        System::Sem,
        System::Broker,
        System::Std,
        System::Spin,
        System::SpinYield,
        System::Dissemination,
        System::Omp,
        System::LibOmp,
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
            System::Dissemination => "dissemination",
            System::Omp => "libgomp",
            System::LibOmp => "libomp",
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
            System::Dissemination => "dissemination, spin then yield (processes)",
            System::Omp => "OpenMP barrier, GCC libgomp (threads)",
            System::LibOmp => "OpenMP barrier, LLVM libomp (threads)",
            System::Mpi => "Open MPI MPI_Barrier (processes)",
        }
    }

    /// By name; `omp` is accepted for `libgomp` (its name before libomp joined).
    pub fn parse(s: &str) -> Option<System> {
        let s = if s == "omp" { "libgomp" } else { s };
        System::ALL.into_iter().find(|sys| sys.name() == s)
    }

    /// Whether its waiters spin (then maybe yield) rather than sleep in the kernel: the baselines
    /// the N = 2 target compares with.
    pub fn spins(self) -> bool {
        matches!(
            self,
            System::Spin | System::SpinYield | System::Dissemination | System::Omp | System::LibOmp | System::Mpi
        )
    }

    pub fn kind(self) -> Kind {
        match self {
            System::MusterHeap | System::Std => Kind::Threads,
            System::Omp | System::LibOmp => Kind::Omp,
            System::Mpi => Kind::Mpi,
            _ => Kind::Processes,
        }
    }
}

/// The workload between barriers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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
