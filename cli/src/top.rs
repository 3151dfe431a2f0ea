//! `muster top`: a live view of one region, refreshed every interval.
//!
//! Rates are differences between two snapshots divided by the time between them: episodes/s
//! from each barrier's count of released generations (resets and breaks do not count), alting
//! events/s from its completion counter. On a terminal the view redraws in place and `q`
//! (or Ctrl-C) quits; raw mode is switched on only for reading keys and always restored. Without a
//! terminal (a pipe, `--json`), one frame is written per refresh.

use muster_shm::inspect::{self, Snapshot};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use crossterm::{cursor, execute, terminal};

/// Restores the terminal when dropped (also on error paths).
struct RawMode;

impl RawMode {
    fn enter() -> std::io::Result<RawMode> {
        terminal::enable_raw_mode()?;
        let _ = execute!(std::io::stdout(), terminal::EnterAlternateScreen, cursor::Hide);
        Ok(RawMode)
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = execute!(std::io::stdout(), cursor::Show, terminal::LeaveAlternateScreen);
        let _ = terminal::disable_raw_mode();
    }
}

struct Row {
    name: String,
    kind: &'static str,
    parties: u32,
    waiting: u32,
    rate: Option<f64>,
    generation: u32,
    broken: Option<String>,
}

fn rows(now: &Snapshot, prev: Option<(&Snapshot, Duration)>) -> Vec<Row> {
    let before: HashMap<&str, u64> =
        prev.map(|(p, _)| p.barriers.iter().map(|b| (b.name.as_str(), b.episodes)).collect()).unwrap_or_default();
    let mut out: Vec<Row> = now
        .barriers
        .iter()
        .map(|b| {
            let rate = prev.and_then(|(_, dt)| {
                let old = *before.get(b.name.as_str())?;
                Some(b.episodes.wrapping_sub(old) as f64 / dt.as_secs_f64().max(1e-9))
            });
            Row {
                name: b.name.clone(),
                kind: crate::model::kind(b.kind),
                parties: b.parties,
                waiting: b.arrived,
                rate,
                generation: b.generation,
                broken: b.broken.then(|| crate::model::reason(b.broken_reason).unwrap_or_else(|| "broken".into())),
            }
        })
        .collect();
    let alt_before: HashMap<&str, u64> =
        prev.map(|(p, _)| p.alting.iter().map(|a| (a.name.as_str(), a.completions)).collect()).unwrap_or_default();
    for a in &now.alting {
        let rate = prev.and_then(|(_, dt)| {
            let old = *alt_before.get(a.name.as_str())?;
            Some(a.completions.wrapping_sub(old) as f64 / dt.as_secs_f64().max(1e-9))
        });
        out.push(Row {
            name: a.name.clone(),
            kind: "alting",
            parties: a.enrolled,
            waiting: 0,
            rate,
            generation: a.completions as u32,
            broken: None,
        });
    }
    out
}

fn frame_text(now: &Snapshot, rows: &[Row], interval: Duration) -> String {
    let alive = now.processes.iter().filter(|p| p.alive).count();
    let mut s = format!(
        "muster top {} (every {:.2}s, q quits)   processes: {} alive, {} dead{}\r\n\r\n",
        now.name,
        interval.as_secs_f64(),
        alive,
        now.processes.len() - alive,
        if now.stale() { "   STALE" } else { "" }
    );
    s.push_str(&format!(
        "{:<28} {:<10} {:>7} {:>7} {:>12} {:>12}  {}\r\n",
        "BARRIER", "KIND", "PARTIES", "WAITING", "EPISODES/S", "GENERATION", "BROKEN"
    ));
    for r in rows {
        let rate = r.rate.map_or_else(|| "-".to_owned(), |v| format!("{v:.1}"));
        s.push_str(&format!(
            "{:<28} {:<10} {:>7} {:>7} {:>12} {:>12}  {}\r\n",
            // Names come from the region: escaped, so a hostile one cannot drive the terminal.
            r.name.escape_debug().to_string(),
            r.kind,
            r.parties,
            r.waiting,
            rate,
            r.generation,
            r.broken.as_deref().unwrap_or("-")
        ));
    }
    if rows.is_empty() {
        s.push_str("(no barriers)\r\n");
    }
    s
}

fn frame_json(now: &Snapshot, rows: &[Row]) -> serde_json::Value {
    let barriers: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "name": r.name, "kind": r.kind, "parties": r.parties, "waiting": r.waiting,
                "episodes_per_s": r.rate, "generation": r.generation,
                "broken": r.broken.is_some(), "broken_reason": r.broken,
            })
        })
        .collect();
    serde_json::json!({
        "name": now.name,
        "stale": now.stale(),
        "processes": now.processes.iter().map(|p| serde_json::json!({"pid": p.pid, "alive": p.alive})).collect::<Vec<_>>(),
        "barriers": barriers,
    })
}

/// Whether `q` (or Ctrl-C) was pressed within `wait`.
fn quit_pressed(wait: Duration) -> std::io::Result<bool> {
    let until = Instant::now() + wait;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if !event::poll(left)? {
            return Ok(false);
        }
        if let Event::Key(k) = event::read()? {
            if k.kind == KeyEventKind::Release {
                continue;
            }
            let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
            if matches!(k.code, KeyCode::Char('q') | KeyCode::Char('Q') | KeyCode::Esc) || ctrl_c {
                return Ok(true);
            }
        }
    }
}

/// Runs the view until `q`, Ctrl-C or `count` frames.
pub fn run(region: &str, interval: Duration, count: Option<u64>, json: bool) -> Result<(), String> {
    let describe = |e: muster_shm::Error| crate::describe(&e);
    let interactive = !json && std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    // Fail before touching the terminal if the region cannot be read.
    let mut prev: Option<(Snapshot, Instant)> = None;
    let first = inspect::inspect(region).map_err(describe)?;
    let _raw = if interactive { Some(RawMode::enter().map_err(|e| format!("terminal: {e}"))?) } else { None };
    let mut snap = Some(first);
    let mut frames = 0u64;
    loop {
        let now = match snap.take() {
            Some(s) => s,
            None => inspect::inspect(region).map_err(describe)?,
        };
        let at = Instant::now();
        let r = rows(&now, prev.as_ref().map(|(p, t)| (p, at.duration_since(*t))));
        let mut out = std::io::stdout().lock();
        if json {
            let _ = writeln!(out, "{}", frame_json(&now, &r));
        } else if interactive {
            let _ = execute!(out, terminal::Clear(terminal::ClearType::All), cursor::MoveTo(0, 0));
            let _ = write!(out, "{}", frame_text(&now, &r, interval));
        } else {
            let _ = writeln!(out, "{}", frame_text(&now, &r, interval).replace("\r\n", "\n"));
        }
        let _ = out.flush();
        drop(out);
        frames += 1;
        if count.is_some_and(|c| frames >= c) {
            return Ok(());
        }
        prev = Some((now, at));
        if interactive {
            if quit_pressed(interval).map_err(|e| format!("terminal: {e}"))? {
                return Ok(());
            }
        } else {
            std::thread::sleep(interval);
        }
    }
}
