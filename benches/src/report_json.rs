//! The report as JSON (serde_json; non-finite numbers become `null`).

use crate::alting;
use crate::report::{condition_name, Report};
use crate::stats::{Outcome, RoundTrip, Stats};
use serde_json::{json, Value};

fn stats_json(s: &Stats) -> Value {
    json!({
        "ns_per_episode": s.ns_per_episode,
        "rep_ns_per_episode": s.rep_ns,
        "rep_ns_min": s.min_ns,
        "rep_ns_q1": s.q1_ns,
        "rep_ns_q3": s.q3_ns,
        "rep_ns_max": s.max_ns,
        "latency_p50_ns": s.p50,
        "latency_p99_ns": s.p99,
        "latency_p999_ns": s.p999,
        "cpu_us_per_episode": s.cpu_us_per_episode,
        "episodes_per_rep": s.episodes,
        "episodes_requested": s.requested,
        "reps_requested": s.reps_requested,
        "capped": s.capped(),
        "collapsed": s.collapsed,
    })
}

fn outcome_json(o: &Outcome) -> Value {
    match o {
        Outcome::Measured(s) => json!({"status": "measured", "result": stats_json(s)}),
        Outcome::Skipped(w) => json!({"status": "skipped", "reason": w}),
        Outcome::Failed(w) => json!({"status": "failed", "reason": w}),
    }
}

impl Report {
    fn alting_json(&self) -> Value {
        let Some(a) = &self.alting else {
            return json!({"status": alting::status_skipped()});
        };
        let gold: Vec<Value> = a
            .goldsmith
            .iter()
            .map(|(hogs, cfg, g)| {
                let body = match g {
                    Ok(g) => json!({
                        "status": "measured",
                        "events_per_s": g.events_per_s,
                        "rep_events_per_s": g.rep_events_per_s,
                        "shares": {"a": g.shares[0], "b": g.shares[1], "c": g.shares[2]},
                        "cpu_us_per_event": g.cpu_us_per_event,
                        "cores_busy": g.cores_busy,
                        "events": g.events,
                        "window_s": g.window_s,
                        "meets_target": g.meets_target(),
                    }),
                    Err(e) => json!({"status": "failed", "reason": e}),
                };
                json!({
                    "hogs": hogs,
                    "condition": condition_name(*hogs),
                    "config": cfg.name(),
                    "label": cfg.label(),
                    "jcsp_events_per_s": cfg.jcsp(),
                    "result": body,
                })
            })
            .collect();
        let sync: Vec<Value> = a
            .sync
            .iter()
            .map(|r| {
                let ratio = match (r.alting.stats(), r.plain.stats()) {
                    (Some(s), Some(p)) => s.ns_per_episode / p.ns_per_episode,
                    _ => f64::NAN,
                };
                json!({
                    "n": r.n,
                    "alting_sync": outcome_json(&r.alting),
                    "plain_barrier": outcome_json(&r.plain),
                    "plain_from_sweep": r.plain_from_sweep,
                    "ratio_alting_vs_plain": ratio,
                })
            })
            .collect();
        json!({
            "status": "measured",
            "goldsmith_window_ms": a.window_ms,
            "goldsmith_reps": self.reps,
            "target_goldsmith_events_per_s": alting::TARGET_EVENTS_PER_S,
            "target_goldsmith_min_share": alting::TARGET_MIN_SHARE,
            "jcsp_1_1_rc4_reference": {
                "goldsmith_events_per_s": alting::JCSP_GOLDSMITH,
                "goldsmith_pinned_one_cpu_events_per_s": alting::JCSP_GOLDSMITH_PINNED,
                "sync_2_threads_ns_min": alting::JCSP_SYNC_2_NS.0,
                "sync_2_threads_ns_max": alting::JCSP_SYNC_2_NS.1,
                "source": "the issue (not measured by this harness)",
            },
            "goldsmith": gold,
            "sync": sync,
            "elapsed_s": a.elapsed_s,
        })
    }

    /// Everything the run measured, and the targets check.
    pub fn json(&self) -> Value {
        let results: Vec<Value> = self
            .results
            .iter()
            .map(|r| {
                let vs = r.outcome.stats().zip(self.find(r.hogs, r.scenario, r.n, crate::systems::System::Muster));
                let mut v = outcome_json(&r.outcome);
                v["hogs"] = json!(r.hogs);
                v["condition"] = json!(condition_name(r.hogs));
                v["scenario"] = json!(r.scenario.name());
                v["n"] = json!(r.n);
                v["system"] = json!(r.system.name());
                v["label"] = json!(r.system.label());
                v["ratio_vs_muster"] = json!(vs.map_or(f64::NAN, |(s, m)| s.ns_per_episode / m.ns_per_episode));
                v
            })
            .collect();
        let reference = |r: &Option<Result<RoundTrip, String>>| match r {
            Some(Ok(x)) => serde_json::to_value(x).unwrap_or(Value::Null),
            Some(Err(e)) => json!({"error": e}),
            None => Value::Null,
        };
        let rt = reference(&self.round_trip);
        let mut handoff = reference(&self.handoff);
        if let (Some(Ok(h)), Value::Object(_)) = (&self.handoff, &handoff) {
            handoff["per_handoff_ns"] = json!(h.per_handoff_ns());
        }
        let idle = match &self.idle {
            Some(Ok(i)) => json!({"waited_ns": i.waited_ns, "cpu_ns": i.cpu_ns, "core_share": i.core_share()}),
            Some(Err(e)) => json!({"error": e}),
            None => Value::Null,
        };
        let mut machine = serde_json::to_value(&self.machine).unwrap_or(Value::Null);
        machine["load1_at_end"] = json!(self.load_at_end);
        let targets: Vec<Value> = self
            .target_list()
            .into_iter()
            .map(|t| json!({"target": t.what, "measured": t.figures, "met": t.met}))
            .collect();
        json!({
            "command": self.command,
            "date": self.date,
            "machine": machine,
            "mode": if self.quick { "quick" } else { "full" },
            "episodes": self.episodes,
            "reps": self.reps,
            "interleaved": true,
            "budget_ms_per_rep": self.budget_ms,
            "hogs_conditions": self.hogs,
            "clock_ticks_per_ns": self.cal.ticks_per_ns,
            "clock_read_ns": self.cal.read_ns,
            "cache_line_round_trip": rt,
            "cpu_handoff_round_trip": handoff,
            "idle_waiter": idle,
            "targets": targets,
            "alting": self.alting_json(),
            "notes": self.notes,
            "elapsed_s": self.elapsed_s,
            "results": results,
        })
    }
}
