//! The harness side: one configuration at a time, in fresh worker processes, under a watchdog.

use crate::alting::{self, AltRegion, GoldConfig, Goldsmith, Snapshot};
use crate::baselines;
use crate::cli::Options;
use crate::clock::Calibration;
use crate::ctl::{Ctl, Params};
use crate::external::{self, Helpers};
use crate::muster_sys::{self, RegionGuard};
use crate::stats::{self, Outcome, RoundTrip};
use crate::systems::{Kind, Scenario, System};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The idle-waiter measurement.
#[derive(Clone, Debug)]
pub struct Idle {
    pub waited_ns: f64,
    pub cpu_ns: f64,
}

impl Idle {
    /// CPU used while waiting, as a share of one core.
    pub fn core_share(&self) -> f64 {
        self.cpu_ns / self.waited_ns
    }
}

pub struct Runner<'a> {
    pub opts: &'a Options,
    pub cal: Calibration,
    pub helpers: Helpers,
    exe: PathBuf,
    seq: u32,
}

/// Cleans up whatever a configuration set up, also on early returns.
enum Setup {
    Pthread,
    Sem,
    Socket(String),
}

struct SetupGuard<'c>(&'c Ctl, Vec<Setup>);

impl Drop for SetupGuard<'_> {
    fn drop(&mut self) {
        for s in &self.1 {
            match s {
                Setup::Pthread => baselines::destroy_pthread(self.0),
                Setup::Sem => baselines::destroy_sem(self.0),
                Setup::Socket(p) => {
                    let _ = std::fs::remove_file(p);
                }
            }
        }
    }
}

fn kill(c: &mut Child, sig: libc::c_int) {
    // SAFETY: signalling our own child by pid; it has not been reaped (we still hold it).
    unsafe { libc::kill(c.id() as libc::pid_t, sig) };
}

/// Waits for every child until `deadline`. A child that fails, or the deadline, ends the wait:
/// the rest are terminated (SIGTERM so mpirun can clean up its ranks, then SIGKILL).
fn wait_all(mut children: Vec<(String, Child)>, deadline: Instant) -> Result<(), String> {
    let mut err = None;
    loop {
        let mut running = 0;
        for (what, c) in &mut children {
            match c.try_wait() {
                Ok(Some(st)) if !st.success() && err.is_none() => err = Some(format!("{what} exited with {st}")),
                Ok(Some(_)) => {}
                Ok(None) => running += 1,
                Err(e) => err = Some(format!("wait for {what}: {e}")),
            }
        }
        if running == 0 {
            return err.map_or(Ok(()), Err);
        }
        if err.is_some() || Instant::now() >= deadline {
            let why = err.unwrap_or_else(|| "timed out (watchdog)".to_string());
            for (_, c) in &mut children {
                kill(c, libc::SIGTERM);
            }
            let grace = Instant::now() + Duration::from_secs(2);
            for (_, c) in &mut children {
                while matches!(c.try_wait(), Ok(None)) && Instant::now() < grace {
                    std::thread::sleep(Duration::from_millis(10));
                }
                kill(c, libc::SIGKILL);
                let _ = c.wait();
            }
            return Err(why);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Removes control files, regions and region sidecars left in /dev/shm (and broker sockets in
/// /tmp) by earlier runs that were killed: names carry the creating pid; only dead pids are swept.
pub fn sweep_stale() {
    let alive = |pid: u32| {
        // SAFETY: kill with signal 0 only checks whether the process exists.
        pid == std::process::id() || unsafe { libc::kill(pid as libc::pid_t, 0) } == 0
    };
    for dir in ["/dev/shm", "/tmp"] {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let rest = name.trim_start_matches('.');
            let Some(rest) = rest.strip_prefix("muster-bench-") else { continue };
            let rest = rest.strip_prefix("ctl-").unwrap_or(rest);
            let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
            if pid.is_some_and(|p| !alive(p)) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

impl<'a> Runner<'a> {
    pub fn new(opts: &'a Options, cal: Calibration, helpers: Helpers) -> Result<Runner<'a>, String> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        Ok(Runner { opts, cal, helpers, exe, seq: 0 })
    }

    /// A fresh (control file name, region name) pair for one configuration; both include our pid.
    fn next_names(&mut self) -> (String, String) {
        self.seq += 1;
        let (pid, seq) = (std::process::id(), self.seq);
        (format!("muster-bench-ctl-{pid}-{seq}"), format!("muster-bench-{pid}-{seq}"))
    }

    fn worker(&self, what: &str, ctl: &str, extra: &[String]) -> Command {
        let mut c = Command::new(&self.exe);
        c.args(["--worker", what, "--ctl", ctl]).args(extra).stdin(Stdio::null()).stdout(Stdio::null());
        c
    }

    fn spawn(&self, cmd: &mut Command, what: String, into: &mut Vec<(String, Child)>) -> Result<(), String> {
        let child = cmd.spawn().map_err(|e| format!("spawn {what}: {e}"))?;
        into.push((what, child));
        Ok(())
    }

    fn ticks(&self, ms: u64) -> u64 {
        (ms as f64 * 1e6 * self.cal.ticks_per_ns) as u64
    }

    /// Runs one configuration.
    pub fn run(&mut self, sys: System, scenario: Scenario, n: usize) -> Outcome {
        match sys.kind() {
            Kind::Omp if self.helpers.omp.is_err() => {
                return Outcome::Skipped(format!("OpenMP unavailable: {}", self.helpers.omp.as_ref().err().unwrap()));
            }
            Kind::Mpi if self.helpers.mpi.is_err() => {
                return Outcome::Skipped(format!("MPI unavailable: {}", self.helpers.mpi.as_ref().err().unwrap()));
            }
            _ => {}
        }
        let (name, region_name) = self.next_names();
        let shared_name = match sys {
            System::Broker => format!("/tmp/{region_name}.sock"),
            _ => region_name,
        };
        let o = self.opts;
        let params = Params {
            parties: n,
            reps: o.reps,
            episodes: o.episodes,
            budget_ticks: self.ticks(o.budget_ms),
            work_max_iters: (scenario.work_max_ns() as f64 * self.cal.work_iters_per_ns) as u64,
            seed: o.seed,
            name: shared_name.clone(),
        };
        let ctl = match Ctl::create(&name, &params) {
            Ok(c) => c,
            Err(e) => return Outcome::Failed(format!("control file: {e}")),
        };
        match self.launch(sys, n, &ctl, &name, shared_name) {
            Ok(()) => match stats::collect(&ctl, n, &self.cal) {
                Ok(s) => Outcome::Measured(s),
                Err(e) => Outcome::Failed(e),
            },
            Err(e) => Outcome::Failed(e),
        }
    }

    fn launch(&self, sys: System, n: usize, ctl: &Ctl, name: &str, shared: String) -> Result<(), String> {
        let mut guard = SetupGuard(ctl, vec![]);
        let mut region = None;
        let mut children = vec![];
        let ids = |i: usize| vec!["--id".to_string(), i.to_string()];
        match sys.kind() {
            Kind::Processes => {
                match sys {
                    System::Muster => region = Some(RegionGuard::create(&shared, n as u32)?),
                    System::Pthread => {
                        baselines::init_pthread(ctl, n as u32).map_err(|e| e.to_string())?;
                        guard.1.push(Setup::Pthread);
                    }
                    System::Sem => {
                        baselines::init_sem(ctl).map_err(|e| e.to_string())?;
                        guard.1.push(Setup::Sem);
                    }
                    System::Broker => {
                        guard.1.push(Setup::Socket(shared));
                        self.spawn(&mut self.worker("broker-coord", name, &[]), "coordinator".into(), &mut children)?;
                    }
                    _ => {}
                }
                for i in 0..n {
                    self.spawn(&mut self.worker(sys.name(), name, &ids(i)), format!("worker {i}"), &mut children)?;
                }
            }
            Kind::Threads => {
                let t = ["--threads".to_string(), n.to_string()];
                self.spawn(&mut self.worker(sys.name(), name, &t), "worker".into(), &mut children)?;
            }
            Kind::Omp => {
                let bin = self.helpers.omp.as_ref().map_err(Clone::clone)?;
                let mut c = external::omp_command(bin, ctl);
                c.stdin(Stdio::null()).stdout(Stdio::null());
                self.spawn(&mut c, "omp helper".into(), &mut children)?;
            }
            Kind::Mpi => {
                let mpi = self.helpers.mpi.as_ref().map_err(Clone::clone)?;
                let mut c = external::mpi_command(mpi, ctl);
                c.stdin(Stdio::null()).stdout(Stdio::null());
                self.spawn(&mut c, "mpirun".into(), &mut children)?;
            }
        }
        let o = self.opts;
        let deadline = Instant::now()
            + Duration::from_millis(o.budget_ms * o.reps as u64 * 3)
            + Duration::from_secs(5 + n as u64 / 2);
        let r = wait_all(children, deadline);
        drop(region);
        drop(guard);
        r
    }

    /// The reference: cache-line round trip between two processes on one shared word.
    pub fn pingpong(&mut self) -> Result<RoundTrip, String> {
        let (name, _) = self.next_names();
        let o = self.opts;
        let params = Params {
            parties: 2,
            reps: o.reps,
            episodes: o.pingpong_iters,
            budget_ticks: u64::MAX,
            work_max_iters: 0,
            seed: 0,
            name: String::new(),
        };
        let ctl = Ctl::create(&name, &params).map_err(|e| format!("control file: {e}"))?;
        let mut children = vec![];
        for i in 0..2 {
            let mut c = self.worker("pingpong", &name, &["--id".into(), i.to_string()]);
            self.spawn(&mut c, format!("ping-pong {i}"), &mut children)?;
        }
        wait_all(children, Instant::now() + Duration::from_secs(60))?;
        stats::collect_pingpong(&ctl, &self.cal)
    }

    /// The parameters of a plain-scenario configuration of `n` parties sharing `name`.
    fn plain_params(&self, n: usize, name: String) -> Params {
        let o = self.opts;
        Params {
            parties: n,
            reps: o.reps,
            episodes: o.episodes,
            budget_ticks: self.ticks(o.budget_ms),
            work_max_iters: 0,
            seed: o.seed,
            name,
        }
    }

    /// Alting `sync` cost: `n` worker processes, each on its own front-end of one alting barrier,
    /// in the common episode loop (plain scenario).
    pub fn alting_sync(&mut self, n: usize) -> Outcome {
        let (name, region_name) = self.next_names();
        let ctl = match Ctl::create(&name, &self.plain_params(n, region_name)) {
            Ok(c) => c,
            Err(e) => return Outcome::Failed(format!("control file: {e}")),
        };
        let r = (|| {
            let region = AltRegion::create(&ctl.stored_name(), &[alting::SYNC_BARRIER], n as u32)?;
            let mut children = vec![];
            for i in 0..n {
                let mut c = self.worker("alting-sync", &name, &["--id".into(), i.to_string()]);
                self.spawn(&mut c, format!("alting worker {i}"), &mut children)?;
            }
            let o = self.opts;
            let deadline = Instant::now()
                + Duration::from_millis(o.budget_ms * o.reps as u64 * 3)
                + Duration::from_secs(5 + n as u64 / 2);
            let r = wait_all(children, deadline);
            drop(region);
            r
        })();
        match r.and_then(|()| stats::collect(&ctl, n, &self.cal)) {
            Ok(s) => Outcome::Measured(s),
            Err(e) => Outcome::Failed(e),
        }
    }

    /// Goldsmith's challenge: P, Q, R in three processes; `reps` windows of `window_ms` each after
    /// a warm-up, snapshotted by this (sleeping) process.
    pub fn goldsmith(&mut self, cfg: GoldConfig, window_ms: u64) -> Result<Goldsmith, String> {
        let (name, region_name) = self.next_names();
        let o = self.opts;
        let params = Params {
            parties: 3,
            reps: o.reps,
            episodes: 1,
            budget_ticks: 0,
            work_max_iters: 0,
            seed: 0,
            name: region_name,
        };
        let ctl = Ctl::create(&name, &params).map_err(|e| format!("control file: {e}"))?;
        let region = AltRegion::create(&ctl.stored_name(), &alting::BARRIERS, 2)?;
        let mut children = vec![];
        let mut pids = [0u32; 3];
        for (i, pid) in pids.iter_mut().enumerate() {
            let mut extra = vec!["--id".to_string(), i.to_string()];
            if cfg == GoldConfig::Pinned {
                extra.push("--pin".into());
            }
            let mut c = self.worker("goldsmith", &name, &extra);
            let r = self.spawn(&mut c, format!("goldsmith {}", ["P", "Q", "R"][i]), &mut children);
            if let Err(e) = r {
                alting::stop(&ctl).store(1, std::sync::atomic::Ordering::Release);
                let _ = wait_all(children, Instant::now() + Duration::from_secs(5));
                return Err(e);
            }
            *pid = children[i].1.id();
        }
        let measured = (|| {
            let ready = alting::wait_until(Duration::from_secs(10), || {
                alting::ready(&ctl).load(std::sync::atomic::Ordering::Acquire) == 3
                    || children.iter_mut().any(|(_, c)| matches!(c.try_wait(), Ok(Some(_))))
            });
            if !ready || alting::ready(&ctl).load(std::sync::atomic::Ordering::Acquire) != 3 {
                return Err("workers did not get ready (see their stderr)".to_string());
            }
            std::thread::sleep(Duration::from_millis((window_ms / 4).max(20)));
            let mut snaps = vec![Snapshot::take(&ctl, &pids)];
            for _ in 0..o.reps {
                std::thread::sleep(Duration::from_millis(window_ms));
                snaps.push(Snapshot::take(&ctl, &pids));
            }
            Ok(snaps)
        })();
        alting::stop(&ctl).store(1, std::sync::atomic::Ordering::Release);
        let done = wait_all(children, Instant::now() + alting::SELECT_TIMEOUT * 10 + Duration::from_secs(5));
        drop(region);
        let snaps = measured?;
        done?;
        let last = Snapshot::take(&ctl, &pids);
        for (b, name) in alting::BARRIERS.iter().enumerate() {
            let c: Vec<u64> = alting::OFFERS
                .iter()
                .enumerate()
                .flat_map(|(p, offers)| offers.iter().enumerate().filter(|(_, o)| o.0 == b).map(move |(g, _)| (p, g)))
                .map(|(p, g)| last.counts[p][g])
                .collect();
            if c.len() != 2 || c[0] != c[1] {
                return Err(format!("barrier {name}: its two parties counted {c:?} events"));
            }
        }
        Goldsmith::from_snapshots(&snaps, 1.0 / self.cal.ticks_per_ns)
    }

    /// One process waits a second on a Muster barrier that nobody else reaches.
    pub fn idle(&mut self) -> Result<Idle, String> {
        let (name, region_name) = self.next_names();
        let params =
            Params { parties: 2, reps: 1, episodes: 1, budget_ticks: 0, work_max_iters: 0, seed: 0, name: region_name };
        let ctl = Ctl::create(&name, &params).map_err(|e| format!("control file: {e}"))?;
        let region = RegionGuard::create(&ctl.stored_name(), 2)?;
        let mut children = vec![];
        self.spawn(&mut self.worker("idle", &name, &[]), "idle waiter".into(), &mut children)?;
        let wait = muster_sys::IDLE_WAIT + Duration::from_secs(10);
        let r = wait_all(children, Instant::now() + wait);
        drop(region);
        r?;
        let res = ctl.result(0, 0);
        Ok(Idle { waited_ns: self.cal.ns(res.t1 - res.t0), cpu_ns: res.cpu_ns as f64 })
    }
}
