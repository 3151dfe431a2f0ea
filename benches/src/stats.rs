//! Turning what the workers recorded into numbers.

use crate::clock::Calibration;
use crate::ctl::Ctl;
use std::sync::atomic::Ordering;

/// The measured numbers of one configuration.
#[derive(Clone, Debug)]
pub struct Stats {
    /// Wall time per episode, median over repetitions (ns).
    pub ns_per_episode: f64,
    /// Wall time per episode of each repetition (ns).
    pub rep_ns: Vec<f64>,
    /// Per-episode latency percentiles over all repetitions (ns): from the last party's arrival
    /// (its entry timestamp) to the last party's return from the barrier.
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    /// CPU time of all parties (and a coordinator, if any) per episode, median over repetitions (µs).
    pub cpu_us_per_episode: f64,
    /// Episodes each repetition ran.
    pub episodes: Vec<u64>,
    /// Episodes requested per repetition.
    pub requested: u64,
}

impl Stats {
    /// Whether the time budget cut a repetition short.
    pub fn capped(&self) -> bool {
        self.episodes.iter().any(|&e| e < self.requested)
    }

    /// Whether the time budget stopped a repetition after so few episodes (< 100) that the number
    /// is rough: marked in the summary table and hollow in the plot.
    pub fn few_samples(&self) -> bool {
        self.capped() && self.min_episodes() < 100
    }

    /// The fewest episodes a repetition's throughput phase ran.
    pub fn min_episodes(&self) -> u64 {
        self.episodes.iter().copied().min().unwrap_or(0)
    }
}

/// What happened to one configuration.
#[derive(Clone, Debug)]
pub enum Outcome {
    Measured(Stats),
    /// Not run (helper unavailable, not applicable); the note says why.
    Skipped(String),
    /// Ran but failed or exceeded the watchdog.
    Failed(String),
}

impl Outcome {
    pub fn stats(&self) -> Option<&Stats> {
        match self {
            Outcome::Measured(s) => Some(s),
            _ => None,
        }
    }
}

pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let m = s.len() / 2;
    if s.len() % 2 == 1 {
        s[m]
    } else {
        (s[m - 1] + s[m]) / 2.0
    }
}

/// The `q` quantile (0..=1) of sorted values (nearest rank).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// Reads the results of a finished configuration with `n` parties.
pub fn collect(ctl: &Ctl, n: usize, cal: &Calibration) -> Result<Stats, String> {
    let h = ctl.header();
    let violations = h.check_violations.load(Ordering::Relaxed);
    if violations > 0 {
        return Err(format!(
            "NOT A BARRIER: a party returned before all parties arrived in {violations} of {} validation episodes",
            h.check_episodes.load(Ordering::Relaxed)
        ));
    }
    let reps = h.reps as usize;
    let (mut rep_ns, mut cpu, mut episodes, mut lat) = (vec![], vec![], vec![], vec![]);
    let extra_rounds = h.extra_rounds.load(Ordering::Relaxed);
    let extra_cpu_per_round =
        if extra_rounds > 0 { h.extra_cpu_ns.load(Ordering::Relaxed) as f64 / extra_rounds as f64 } else { 0.0 };
    for rep in 0..reps {
        let r0 = ctl.result(rep, 0);
        let e = r0.episodes;
        if e == 0 || r0.t1 <= r0.t0 {
            return Err(format!("repetition {rep}: no episodes recorded"));
        }
        let mut cpu_ns = extra_cpu_per_round * e as f64;
        for w in 0..n {
            let r = ctl.result(rep, w);
            if r.episodes != e {
                return Err(format!("repetition {rep}: worker {w} ran {} episodes, worker 0 ran {e}", r.episodes));
            }
            cpu_ns += r.cpu_ns as f64;
        }
        rep_ns.push(cal.ns(r0.t1 - r0.t0) / e as f64);
        cpu.push(cpu_ns / e as f64 / 1000.0);
        episodes.push(e);
        let le = r0.lat_episodes as usize;
        let ts: Vec<Vec<u64>> = (0..n).map(|w| ctl.read_ts(w, rep, le)).collect();
        if ts.iter().zip(0..).any(|(t, w)| t.len() != 2 * le || ctl.result(rep, w).lat_episodes != r0.lat_episodes) {
            return Err(format!("repetition {rep}: workers disagree on latency-phase episodes"));
        }
        for i in 0..le {
            let entry = ts.iter().map(|t| t[2 * i]).max().unwrap_or(0);
            let exit = ts.iter().map(|t| t[2 * i + 1]).max().unwrap_or(0);
            lat.push(cal.ns(exit.saturating_sub(entry)));
        }
    }
    lat.sort_by(f64::total_cmp);
    Ok(Stats {
        ns_per_episode: median(&rep_ns),
        rep_ns,
        p50: quantile(&lat, 0.5),
        p99: quantile(&lat, 0.99),
        p999: quantile(&lat, 0.999),
        cpu_us_per_episode: median(&cpu),
        episodes,
        requested: h.episodes,
    })
}

/// The cache-line round trip: median over repetitions of (elapsed / iterations), plus percentiles
/// of the individually timestamped round trips.
#[derive(Clone, Debug)]
pub struct RoundTrip {
    pub median_ns: f64,
    pub p50: f64,
    pub p99: f64,
    pub iterations: u64,
}

pub fn collect_pingpong(ctl: &Ctl, cal: &Calibration) -> Result<RoundTrip, String> {
    let h = ctl.header();
    let (mut per, mut lat) = (vec![], vec![]);
    for rep in 0..h.reps as usize {
        let r = ctl.result(rep, 0);
        if r.episodes == 0 {
            return Err("ping-pong recorded nothing".into());
        }
        per.push(cal.ns(r.t1 - r.t0) / r.episodes as f64);
        let ts = ctl.read_ts(0, rep, r.lat_episodes as usize);
        lat.extend(ts.chunks(2).map(|c| cal.ns(c[1].saturating_sub(c[0]))));
    }
    lat.sort_by(f64::total_cmp);
    Ok(RoundTrip {
        median_ns: median(&per),
        p50: quantile(&lat, 0.5),
        p99: quantile(&lat, 0.99),
        iterations: h.episodes,
    })
}
