//! `--hogs K`: K CPU-bound processes beside the measurement, the busy machine users live with.
//!
//! A hog is this binary re-executed as `muster-bench --hog`: a `loop {}` that never sleeps. The
//! harness starts the hogs right before a measurement (a configuration's workers, a Goldsmith
//! run) and kills them right after, through [`Hogs`], a guard that kills on drop, so an early
//! return or a panic (the harness unwinds) also ends them. The hogs form their own process group
//! (killed with one `killpg`), and each hog asks the kernel to kill it when the harness dies
//! (`PR_SET_PDEATHSIG`), which covers what no destructor sees: Ctrl-C, `kill -9`, a crash. A hog
//! also checks its parent every few million iterations and leaves if it was re-parented.

use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};

/// The running hogs; killed (SIGKILL to their process group) and reaped on drop.
pub struct Hogs {
    children: Vec<Child>,
    pgid: libc::pid_t,
}

impl Hogs {
    /// Starts `k` hogs (none for `k == 0`).
    pub fn start(k: usize) -> Result<Hogs, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let mut hogs = Hogs { children: Vec::with_capacity(k), pgid: 0 };
        for i in 0..k {
            let child = Command::new(&exe)
                .arg("--hog")
                .process_group(hogs.pgid) // 0: a new group led by the first hog
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| format!("spawn hog {i}: {e}"))?; // `hogs` drops: the started ones die
            if hogs.pgid == 0 {
                hogs.pgid = child.id() as libc::pid_t;
            }
            hogs.children.push(child);
        }
        Ok(hogs)
    }

    pub fn count(&self) -> usize {
        self.children.len()
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        if self.pgid > 0 {
            // SAFETY: signalling the process group our hogs lead; it holds nothing else (hogs
            // spawn nothing), and the leader is our unreaped child, so the id can't be reused.
            unsafe { libc::killpg(self.pgid, libc::SIGKILL) };
        }
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The hog role (`muster-bench --hog`): spin until killed or orphaned.
pub fn hog_main() -> i32 {
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() };
    // SAFETY: PR_SET_PDEATHSIG with a valid signal number has no memory effects.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) } != 0 {
        eprintln!("muster-bench hog: prctl(PR_SET_PDEATHSIG): {}", std::io::Error::last_os_error());
        return 2;
    }
    let mut x = 1u64;
    loop {
        for _ in 0..(1 << 24) {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        // SAFETY: as above.
        if unsafe { libc::getppid() } != parent {
            return 0;
        }
    }
}
