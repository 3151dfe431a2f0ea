//! The harness side: a configuration group (one scenario, one N, every system) at a time. Every
//! system's workers are started fresh and wait at their gate; the harness then runs validation and
//! the repetitions step by step, interleaving the systems round after round, each step under a
//! watchdog, with `--hogs` busy processes beside when asked.

use crate::alting::{self, AltRegion, GoldConfig, Goldsmith, Snapshot};
use crate::baselines;
use crate::cli::Options;
use crate::clock::Calibration;
use crate::ctl::{Ctl, Params};
use crate::external::{self, Helpers};
use crate::gate;
use crate::hogs::Hogs;
use crate::muster_sys::{self, RegionGuard};
use crate::stats::{self, Outcome, RoundTrip, Sample, Stats};
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

/// What a configuration set up beside its workers, undone when it is dropped.
enum Setup {
    Pthread,
    Sem,
    Socket(String),
}

/// One configuration's running workers and shared state. Dropping it kills whatever workers are
/// still running, undoes the setups, then unlinks the region (`keep`) and the control file.
pub struct Launched {
    n: usize,
    /// Whether this is a baseline (else Muster itself, which is never dropped as collapsed).
    baseline: bool,
    ctl: Ctl,
    setups: Vec<Setup>,
    /// A region guard (or other state) that must outlive the workers.
    keep: Option<Box<dyn std::any::Any>>,
    children: Vec<(String, Child)>,
}

impl Drop for Launched {
    fn drop(&mut self) {
        if !self.children.is_empty() {
            gate::quit(&self.ctl);
            let _ = wait_all(std::mem::take(&mut self.children), Instant::now());
        }
        for s in &self.setups {
            match s {
                Setup::Pthread => baselines::destroy_pthread(&self.ctl),
                Setup::Sem => baselines::destroy_sem(&self.ctl),
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

    /// The watchdog of one step of a configuration of `n` parties: its time budget four times over
    /// plus time to start (step 0 also waits for the workers to come up) or to wake, generous for
    /// a loaded machine (MPI fixes its episode count from a probe in step 0 and can overshoot).
    fn step_deadline(&self, step: u32, n: usize) -> Instant {
        let start = if step == 0 { 15 + n as u64 / 2 } else { 10 + n as u64 / 2 };
        Instant::now() + Duration::from_millis(self.opts.budget_ms * 4) + Duration::from_secs(start)
    }

    /// Starts the workers of one configuration; they wait at the gate (step 0) until told.
    fn launch(&mut self, sys: System, scenario: Scenario, n: usize) -> Result<Launched, Outcome> {
        let unavailable = |what: &str, e: &String| Outcome::Skipped(format!("{what} unavailable: {e}"));
        let omp_bin = match (sys, &self.helpers.gomp, &self.helpers.libomp) {
            (System::Omp, Err(e), _) => return Err(unavailable("libgomp (gcc -fopenmp)", e)),
            (System::LibOmp, _, Err(e)) => return Err(unavailable("libomp (clang -fopenmp)", e)),
            (System::Omp, Ok(b), _) | (System::LibOmp, _, Ok(b)) => Some(b.clone()),
            _ => None,
        };
        if let (Kind::Mpi, Err(e)) = (sys.kind(), &self.helpers.mpi) {
            return Err(unavailable("MPI", e));
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
        let ctl = Ctl::create(&name, &params).map_err(|e| Outcome::Failed(format!("control file: {e}")))?;
        let baseline = !matches!(sys, System::Muster | System::MusterHeap);
        let mut l = Launched { n, baseline, ctl, setups: vec![], keep: None, children: vec![] };
        let ids = |i: usize| vec!["--id".to_string(), i.to_string()];
        let r = (|| -> Result<(), String> {
            match sys.kind() {
                Kind::Processes => {
                    match sys {
                        System::Muster => l.keep = Some(Box::new(RegionGuard::create(&shared_name, n as u32)?)),
                        System::Pthread => {
                            baselines::init_pthread(&l.ctl, n as u32).map_err(|e| e.to_string())?;
                            l.setups.push(Setup::Pthread);
                        }
                        System::Sem => {
                            baselines::init_sem(&l.ctl).map_err(|e| e.to_string())?;
                            l.setups.push(Setup::Sem);
                        }
                        System::Broker => {
                            l.setups.push(Setup::Socket(shared_name.clone()));
                            self.spawn(
                                &mut self.worker("broker-coord", &name, &[]),
                                "coordinator".into(),
                                &mut l.children,
                            )?;
                        }
                        _ => {}
                    }
                    for i in 0..n {
                        self.spawn(
                            &mut self.worker(sys.name(), &name, &ids(i)),
                            format!("worker {i}"),
                            &mut l.children,
                        )?;
                    }
                }
                Kind::Threads => {
                    let t = ["--threads".to_string(), n.to_string()];
                    self.spawn(&mut self.worker(sys.name(), &name, &t), "worker".into(), &mut l.children)?;
                }
                Kind::Omp => {
                    let bin = omp_bin.as_ref().ok_or("no OpenMP helper")?;
                    let mut c = external::omp_command(bin, &l.ctl);
                    c.stdin(Stdio::null()).stdout(Stdio::null());
                    self.spawn(&mut c, "omp helper".into(), &mut l.children)?;
                }
                Kind::Mpi => {
                    let mpi = self.helpers.mpi.as_ref().map_err(Clone::clone)?;
                    let mut c = external::mpi_command(mpi, &l.ctl);
                    c.stdin(Stdio::null()).stdout(Stdio::null());
                    self.spawn(&mut c, "mpirun".into(), &mut l.children)?;
                }
            }
            Ok(())
        })();
        match r {
            Ok(()) => Ok(l),
            Err(e) => Err(Outcome::Failed(e)), // `l` drops: children killed, setups undone
        }
    }

    /// Runs step `step` of a launched configuration under its watchdog.
    fn step(&self, l: &mut Launched, step: u32) -> Result<(), String> {
        let deadline = self.step_deadline(step, l.n);
        gate::open(&l.ctl, step);
        loop {
            if gate::finished(&l.ctl, step) {
                return Ok(());
            }
            for (what, c) in &mut l.children {
                match c.try_wait() {
                    // After its last step a worker exits, maybe before the others are done.
                    Ok(Some(_)) if gate::finished(&l.ctl, step) => return Ok(()),
                    Ok(Some(st)) if st.success() && step as usize == self.opts.reps => {}
                    Ok(Some(st)) => {
                        return Err(format!(
                            "{what} exited with {st} in step {step} (done {} of {}; see its stderr)",
                            l.ctl.done().load(std::sync::atomic::Ordering::Acquire),
                            l.ctl.header().parties * (step + 1)
                        ))
                    }
                    Ok(None) => {}
                    Err(e) => return Err(format!("wait for {what}: {e}")),
                }
            }
            if Instant::now() >= deadline {
                return Err(if step == 0 {
                    "timed out (watchdog) in start-up / validation".into()
                } else {
                    format!("timed out (watchdog) in repetition {}", step - 1)
                });
            }
            gate::wait_finished(&l.ctl, step, Duration::from_millis(20));
        }
    }

    /// Tells a configuration's workers to leave and waits for them (then its state is cleaned up).
    fn finish(&self, mut l: Launched) -> Result<f64, String> {
        gate::quit(&l.ctl);
        let children = std::mem::take(&mut l.children);
        wait_all(children, Instant::now() + Duration::from_secs(10 + l.n as u64 / 2))?;
        Ok(stats::extra_cpu_per_round(&l.ctl))
    }

    /// Measures `entries` (already launched, or why not) interleaved: step 0 (validation) of each,
    /// then repetition r of each in turn, for r = 0, 1, ...; the order rotates by one every round
    /// so no system always runs right after the same other. A baseline whose first repetition took
    /// more than [`stats::COLLAPSE_NS`] per episode (it collapsed) is not repeated.
    pub fn interleave(&mut self, entries: Vec<Result<Launched, Outcome>>) -> Vec<Outcome> {
        struct Entry {
            l: Option<Launched>,
            /// A baseline (may be dropped as collapsed), not Muster itself.
            baseline: bool,
            samples: Vec<(usize, Sample)>,
            error: Option<Outcome>,
        }
        let mut es: Vec<Entry> = entries
            .into_iter()
            .map(|r| match r {
                Ok(l) => Entry { baseline: l.baseline, l: Some(l), samples: vec![], error: None },
                Err(o) => Entry { baseline: true, l: None, samples: vec![], error: Some(o) },
            })
            .collect();
        let fail = |e: &mut Entry, why: String| {
            e.error = Some(Outcome::Failed(why));
            e.l = None; // drop: kills what is left
        };
        for e in &mut es {
            let Some(l) = e.l.as_mut() else { continue };
            let r = self.step(l, 0).and_then(|()| stats::check_validation(&l.ctl));
            if let Err(why) = r {
                fail(e, why);
            }
        }
        let k = es.len();
        for rep in 0..self.opts.reps {
            for j in 0..k {
                let e = &mut es[(j + rep) % k];
                let Some(l) = e.l.as_mut() else { continue };
                let r = self.step(l, 1 + rep as u32);
                if let Err(why) = r {
                    fail(e, why);
                    continue;
                }
                match stats::collect_rep(&l.ctl, rep, l.n, &self.cal, 0.0) {
                    Ok(s) => {
                        let collapsed = rep == 0 && e.baseline && s.ns_per_episode > stats::COLLAPSE_NS;
                        e.samples.push((rep, s));
                        if collapsed {
                            let l = e.l.take().expect("checked above");
                            if let Err(why) = self.finish_into(l, e.samples.as_mut_slice()) {
                                e.error = Some(Outcome::Failed(why));
                            }
                        }
                    }
                    Err(why) => fail(e, why),
                }
            }
        }
        es.into_iter()
            .map(|mut e| {
                if let Some(l) = e.l.take() {
                    if let Err(why) = self.finish_into(l, e.samples.as_mut_slice()) {
                        return Outcome::Failed(why);
                    }
                }
                if let Some(o) = e.error {
                    return o;
                }
                let samples: Vec<Sample> = e.samples.into_iter().map(|(_, s)| s).collect();
                Outcome::Measured(Box::new(Stats::from_samples(&samples, self.opts.episodes, self.opts.reps)))
            })
            .collect()
    }

    /// [`Runner::finish`], then adds a coordinator's CPU per round (broker) to every sample.
    fn finish_into(&self, l: Launched, samples: &mut [(usize, Sample)]) -> Result<(), String> {
        let extra = self.finish(l)?;
        for (_, s) in samples {
            s.cpu_us_per_episode += extra / 1000.0;
        }
        Ok(())
    }

    /// Measures every system in `systems` at (`scenario`, `n`) interleaved, with `hogs` busy
    /// processes running beside for the whole configuration. `skip`: systems not to run, and why.
    pub fn run_group(
        &mut self,
        systems: &[System],
        scenario: Scenario,
        n: usize,
        hogs: usize,
        skip: &dyn Fn(System) -> Option<String>,
    ) -> Vec<Outcome> {
        let guard = match Hogs::start(hogs) {
            Ok(g) => g,
            Err(e) => return systems.iter().map(|_| Outcome::Failed(format!("hogs: {e}"))).collect(),
        };
        let entries: Vec<Result<Launched, Outcome>> = systems
            .iter()
            .map(|&sys| match skip(sys) {
                Some(why) => Err(Outcome::Skipped(why)),
                None => self.launch(sys, scenario, n),
            })
            .collect();
        let out = self.interleave(entries);
        debug_assert_eq!(guard.count(), hogs);
        drop(guard);
        out
    }

    /// The reference: cache-line round trip between two processes on one shared word.
    pub fn pingpong(&mut self) -> Result<RoundTrip, String> {
        self.pingpong_as("pingpong", self.opts.pingpong_iters)
    }

    /// The reference for oversubscribed N: two processes pinned to one CPU taking turns with
    /// `sched_yield` (each round trip is two hand-offs of the CPU).
    pub fn handoff(&mut self) -> Result<RoundTrip, String> {
        self.pingpong_as("handoff", (self.opts.pingpong_iters / 10).max(1000))
    }

    fn pingpong_as(&mut self, worker: &str, iterations: u64) -> Result<RoundTrip, String> {
        let (name, _) = self.next_names();
        let o = self.opts;
        let params = Params {
            parties: 2,
            reps: o.reps,
            episodes: iterations,
            budget_ticks: u64::MAX,
            work_max_iters: 0,
            seed: 0,
            name: String::new(),
        };
        let ctl = Ctl::create(&name, &params).map_err(|e| format!("control file: {e}"))?;
        let mut children = vec![];
        for i in 0..2 {
            let mut c = self.worker(worker, &name, &["--id".into(), i.to_string()]);
            self.spawn(&mut c, format!("{worker} {i}"), &mut children)?;
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
        let mut l = Launched { n, baseline: false, ctl, setups: vec![], keep: None, children: vec![] };
        let r = (|| -> Result<(), String> {
            l.keep = Some(Box::new(AltRegion::create(&l.ctl.stored_name(), &[alting::SYNC_BARRIER], n as u32)?));
            for i in 0..n {
                let mut c = self.worker("alting-sync", &name, &["--id".into(), i.to_string()]);
                self.spawn(&mut c, format!("alting worker {i}"), &mut l.children)?;
            }
            Ok(())
        })();
        let entry = r.map(|()| l).map_err(Outcome::Failed);
        self.interleave(vec![entry]).pop().unwrap_or_else(|| Outcome::Failed("no outcome".into()))
    }

    /// Goldsmith's challenge: P, Q, R in three processes; `reps` windows of `window_ms` each after
    /// a warm-up, snapshotted by this (sleeping) process.
    /// `hogs` busy processes run beside for the whole configuration.
    pub fn goldsmith(&mut self, cfg: GoldConfig, window_ms: u64, hogs: usize) -> Result<Goldsmith, String> {
        let _hogs = Hogs::start(hogs)?;
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
