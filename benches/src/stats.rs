//! Turning what the workers recorded into numbers.

use crate::clock::Calibration;
use crate::ctl::Ctl;
use hdrhistogram::Histogram;
use std::sync::atomic::Ordering;

/// What one repetition of one configuration measured.
#[derive(Clone, Debug)]
pub struct Sample {
    /// Wall time per episode of the throughput phase (ns).
    pub ns_per_episode: f64,
    /// CPU time of all parties (and a coordinator, if any) per episode (µs).
    pub cpu_us_per_episode: f64,
    /// Episodes the throughput phase ran.
    pub episodes: u64,
    /// Per-episode latencies of the latency phase (ns).
    pub latency: Histogram<u64>,
}

/// A new latency histogram: 1 ns .. 100 s, 3 significant digits.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("static histogram bounds are valid")
}

/// The measured numbers of one configuration, over its repetitions.
#[derive(Clone, Debug)]
pub struct Stats {
    /// Wall time per episode, median over repetitions (ns).
    pub ns_per_episode: f64,
    /// Wall time per episode of each repetition (ns), in the order run.
    pub rep_ns: Vec<f64>,
    /// Spread of `rep_ns`: minimum, first quartile, third quartile, maximum.
    pub min_ns: f64,
    pub q1_ns: f64,
    pub q3_ns: f64,
    pub max_ns: f64,
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
    /// Repetitions requested; fewer ran when the system collapsed (see `collapsed`).
    pub reps_requested: usize,
    /// A baseline whose first repetition took more than [`COLLAPSE_NS`] per episode: not repeated.
    pub collapsed: bool,
}

/// Fewer episodes than this in a repetition's budget make a rough number.
pub const FEW: u64 = 100;
/// A baseline slower than this per episode has collapsed (pure spinning with more runnable
/// tasks than CPUs): its first repetition stands, it is not repeated.
pub const COLLAPSE_NS: f64 = 1_000_000.0;
/// A baseline that collapsed past this per episode (or timed out) is not run at larger N.
pub const SKIP_LARGER_NS: f64 = 10_000_000.0;

impl Stats {
    /// Aggregates the repetitions of one configuration.
    pub fn from_samples(samples: &[Sample], requested: u64, reps_requested: usize) -> Stats {
        let rep_ns: Vec<f64> = samples.iter().map(|s| s.ns_per_episode).collect();
        let mut sorted = rep_ns.clone();
        sorted.sort_by(f64::total_cmp);
        let mut lat = histogram();
        for s in samples {
            // Same bounds on both sides: adding can't fail.
            let _ = lat.add(&s.latency);
        }
        let q = |p: f64| if lat.is_empty() { f64::NAN } else { lat.value_at_quantile(p) as f64 };
        let cpu: Vec<f64> = samples.iter().map(|s| s.cpu_us_per_episode).collect();
        let episodes: Vec<u64> = samples.iter().map(|s| s.episodes).collect();
        let collapsed = samples.len() == 1 && reps_requested > 1 && rep_ns[0] > COLLAPSE_NS;
        Stats {
            ns_per_episode: median(&rep_ns),
            min_ns: sorted.first().copied().unwrap_or(f64::NAN),
            q1_ns: quantile_interp(&sorted, 0.25),
            q3_ns: quantile_interp(&sorted, 0.75),
            max_ns: sorted.last().copied().unwrap_or(f64::NAN),
            rep_ns,
            p50: q(0.5),
            p99: q(0.99),
            p999: q(0.999),
            cpu_us_per_episode: median(&cpu),
            episodes,
            requested,
            reps_requested,
            collapsed,
        }
    }

    /// Whether the time budget cut a repetition short.
    pub fn capped(&self) -> bool {
        self.episodes.iter().any(|&e| e < self.requested)
    }

    /// Whether the time budget stopped a repetition after so few episodes (< 100) that the number
    /// is rough: marked in the summary table and hollow in the plot.
    pub fn few_samples(&self) -> bool {
        self.capped() && self.min_episodes() < FEW
    }

    /// The fewest episodes a repetition's throughput phase ran.
    pub fn min_episodes(&self) -> u64 {
        self.episodes.iter().copied().min().unwrap_or(0)
    }
}

/// What happened to one configuration.
#[derive(Clone, Debug)]
pub enum Outcome {
    Measured(Box<Stats>),
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

/// The `q` quantile (0..=1) of sorted values, linearly interpolated (for the few repetitions).
pub fn quantile_interp(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let x = q * (n - 1) as f64;
            let (i, f) = (x.floor() as usize, x.fract());
            sorted[i] + (sorted[(i + 1).min(n - 1)] - sorted[i]) * f
        }
    }
}

/// Checks the validation phase (step 0) of a finished configuration.
pub fn check_validation(ctl: &Ctl) -> Result<(), String> {
    let h = ctl.header();
    let violations = h.check_violations.load(Ordering::Relaxed);
    if violations > 0 {
        return Err(format!(
            "NOT A BARRIER: a party returned before all parties arrived in {violations} of {} validation episodes",
            h.check_episodes.load(Ordering::Relaxed)
        ));
    }
    Ok(())
}

/// Reads repetition `rep` of a configuration with `n` parties once its step has finished.
/// `extra_cpu_per_round`: a coordinator's CPU per round (broker), added per episode.
pub fn collect_rep(
    ctl: &Ctl,
    rep: usize,
    n: usize,
    cal: &Calibration,
    extra_cpu_per_round: f64,
) -> Result<Sample, String> {
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
    let le = r0.lat_episodes as usize;
    let ts: Vec<Vec<u64>> = (0..n).map(|w| ctl.read_ts(w, rep, le)).collect();
    if ts.iter().zip(0..).any(|(t, w)| t.len() != 2 * le || ctl.result(rep, w).lat_episodes != r0.lat_episodes) {
        return Err(format!("repetition {rep}: workers disagree on latency-phase episodes"));
    }
    let mut latency = histogram();
    for i in 0..le {
        let entry = ts.iter().map(|t| t[2 * i]).max().unwrap_or(0);
        let exit = ts.iter().map(|t| t[2 * i + 1]).max().unwrap_or(0);
        latency.saturating_record(cal.ns(exit.saturating_sub(entry)).round().max(1.0) as u64);
    }
    Ok(Sample {
        ns_per_episode: cal.ns(r0.t1 - r0.t0) / e as f64,
        cpu_us_per_episode: cpu_ns / e as f64 / 1000.0,
        episodes: e,
        latency,
    })
}

/// A coordinator's CPU per round (the broker's; 0 without one), known once it has exited.
pub fn extra_cpu_per_round(ctl: &Ctl) -> f64 {
    let h = ctl.header();
    let rounds = h.extra_rounds.load(Ordering::Relaxed);
    if rounds > 0 {
        h.extra_cpu_ns.load(Ordering::Relaxed) as f64 / rounds as f64
    } else {
        0.0
    }
}

/// The cache-line round trip: median over repetitions of (elapsed / iterations), plus percentiles
/// of the individually timestamped round trips.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RoundTrip {
    pub median_ns: f64,
    #[serde(rename = "p50_ns")]
    pub p50: f64,
    #[serde(rename = "p99_ns")]
    pub p99: f64,
    pub iterations: u64,
}

impl RoundTrip {
    /// For the CPU hand-off reference, whose round trip is two hand-offs: one hand-off.
    pub fn per_handoff_ns(&self) -> f64 {
        self.median_ns / 2.0
    }
}

pub fn collect_pingpong(ctl: &Ctl, cal: &Calibration) -> Result<RoundTrip, String> {
    let h = ctl.header();
    let (mut per, mut lat) = (vec![], histogram());
    for rep in 0..h.reps as usize {
        let r = ctl.result(rep, 0);
        if r.episodes == 0 {
            return Err("ping-pong recorded nothing".into());
        }
        per.push(cal.ns(r.t1 - r.t0) / r.episodes as f64);
        let ts = ctl.read_ts(0, rep, r.lat_episodes as usize);
        for c in ts.chunks(2) {
            lat.saturating_record(cal.ns(c[1].saturating_sub(c[0])).round().max(1.0) as u64);
        }
    }
    Ok(RoundTrip {
        median_ns: median(&per),
        p50: lat.value_at_quantile(0.5) as f64,
        p99: lat.value_at_quantile(0.99) as f64,
        iterations: h.episodes,
    })
}
