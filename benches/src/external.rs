//! The C helpers (OpenMP with GCC's libgomp and with LLVM's libomp, Open MPI): detected and
//! compiled at run time, skipped with a note when the toolchain is missing (`gcc`, `clang` with
//! Debian's `libomp-dev`, `mpicc` + `mpirun`). Sources are embedded in this binary (from `benches/c/`) and written
//! next to the helper binaries in `OUT/bin/`, so the harness works from any directory.

use crate::ctl::{Ctl, DONE_OFF, GATE_OFF, MAX_N, RESULTS_OFF, TS_OFF};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const COMMON_H: &str = include_str!("../c/bench_common.h");
const OMP_C: &str = include_str!("../c/omp_barrier.c");
const MPI_C: &str = include_str!("../c/mpi_barrier.c");

/// What the harness found: a helper binary ready to run, or why not.
pub struct Helpers {
    /// `omp_barrier.c` built with `gcc -fopenmp` (libgomp).
    pub gomp: Result<PathBuf, String>,
    /// The same source built with `clang -fopenmp` (libomp).
    pub libomp: Result<PathBuf, String>,
    pub mpi: Result<Mpi, String>,
}

pub struct Mpi {
    pub binary: PathBuf,
    pub mpirun: PathBuf,
    pub version: String,
}

/// Finds `prog` on PATH.
pub fn which(prog: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(prog)).find(|p| p.is_file())
}

fn write_if_changed(path: &Path, text: &str) -> std::io::Result<bool> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(false);
    }
    std::fs::write(path, text)?;
    Ok(true)
}

/// Compiles `src` (text) with `cc args` into `dir/name` unless an up-to-date binary is there.
fn build(dir: &Path, name: &str, src: &str, cc: &str, flags: &[&str]) -> Result<PathBuf, String> {
    let compiler = which(cc).ok_or_else(|| format!("{cc} not found on PATH"))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let io = |e: std::io::Error| format!("write helper sources: {e}");
    let h_changed = write_if_changed(&dir.join("bench_common.h"), COMMON_H).map_err(io)?;
    let c_path = dir.join(format!("{name}.c"));
    let c_changed = write_if_changed(&c_path, src).map_err(io)?;
    let bin = dir.join(name);
    if bin.is_file() && !h_changed && !c_changed {
        return Ok(bin);
    }
    let out = Command::new(&compiler)
        .args(flags)
        .arg("-o")
        .arg(&bin)
        .arg(&c_path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("run {cc}: {e}"))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&bin);
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("{cc} failed: {}", err.lines().take(3).collect::<Vec<_>>().join(" / ")));
    }
    Ok(bin)
}

impl Helpers {
    /// Detects and builds the helpers that are wanted.
    pub fn prepare(dir: &Path, want_gomp: bool, want_libomp: bool, want_mpi: bool) -> Helpers {
        let gomp = if want_gomp {
            build(dir, "omp_barrier", OMP_C, "gcc", &["-fopenmp", "-O2", "-ldl"])
        } else {
            Err("not selected".into())
        };
        let libomp = if want_libomp {
            build(dir, "libomp_barrier", OMP_C, "clang", &["-fopenmp", "-O2", "-DEXPECT_LIBOMP", "-ldl"])
                .map_err(|e| format!("{e} (Debian: apt-get install clang libomp-dev)"))
        } else {
            Err("not selected".into())
        };
        let mpi = if want_mpi {
            build(dir, "mpi_barrier", MPI_C, "mpicc", &["-O2"]).and_then(|binary| {
                let mpirun = which("mpirun").ok_or("mpirun not found on PATH")?;
                let version = Command::new(&mpirun)
                    .arg("--version")
                    .output()
                    .ok()
                    .and_then(|o| String::from_utf8_lossy(&o.stdout).lines().next().map(str::to_string))
                    .unwrap_or_default();
                Ok(Mpi { binary, mpirun, version })
            })
        } else {
            Err("not selected".into())
        };
        Helpers { gomp, libomp, mpi }
    }
}

/// The helpers' common arguments (see `bench_common.h`).
fn helper_args(ctl: &Ctl) -> Vec<String> {
    let h = ctl.header();
    [
        ctl.path(),
        h.parties.to_string(),
        h.reps.to_string(),
        h.episodes.to_string(),
        h.budget_ticks.to_string(),
        h.work_max_iters.to_string(),
        h.seed.to_string(),
        RESULTS_OFF.to_string(),
        TS_OFF.to_string(),
        MAX_N.to_string(),
        h.lat_cap.to_string(),
        GATE_OFF.to_string(),
        DONE_OFF.to_string(),
    ]
    .into()
}

pub fn omp_command(bin: &Path, ctl: &Ctl) -> Command {
    let mut c = Command::new(bin);
    c.args(helper_args(ctl));
    c
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

pub fn mpi_command(mpi: &Mpi, ctl: &Ctl) -> Command {
    let mut c = Command::new(&mpi.mpirun);
    if is_root() {
        c.arg("--allow-run-as-root");
    }
    c.args(["--oversubscribe", "--bind-to", "none", "-np"]).arg(ctl.header().parties.to_string());
    c.arg(&mpi.binary).args(helper_args(ctl));
    c
}
