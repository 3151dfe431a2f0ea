//! `muster top`: JSON frames through a pipe, and the interactive view under tmux (send-keys,
//! capture-pane). The tmux test is skipped with a message when tmux is missing.

mod common;

use common::*;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
#[ignore = "helper: runs a child role when started by the other tests"]
fn child_entry() {
    child_main();
}

#[test]
fn top_json_frames_show_episode_rates() {
    let name = TempName::new("topjson");
    let spinner = spawn("spin", &name.0);
    let out = muster(&["--json", "top", &name.0, "--interval", "0.3", "--count", "3"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let frames: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    assert_eq!(frames.len(), 3);
    let spin = |f: &Value| f["barriers"].as_array().unwrap().iter().find(|b| b["name"] == "spin").cloned().unwrap();
    assert_eq!(spin(&frames[0])["episodes_per_s"], Value::Null, "no rate before a second frame");
    let rate = spin(&frames[2])["episodes_per_s"].as_f64().expect("rate");
    assert!(rate > 0.0, "spinner completes episodes, rate {rate}");
    assert_eq!(frames[2]["processes"][0]["pid"], spinner.pid());
    assert_eq!(frames[2]["stale"], false);
}

fn tmux(sock: &str, args: &[&str]) -> std::process::Output {
    run_bounded(Command::new("tmux").arg("-L").arg(sock).args(args))
}

#[test]
fn top_under_tmux_redraws_and_quits_on_q() {
    if Command::new("tmux").arg("-V").output().is_err() {
        eprintln!("skipped: top_under_tmux_redraws_and_quits_on_q needs tmux");
        return;
    }
    let name = TempName::new("toptmux");
    let _spinner = spawn("spin", &name.0);
    let sock = format!("muster-cli-test-{}", std::process::id());
    struct Server(String);
    impl Drop for Server {
        fn drop(&mut self) {
            let _ = Command::new("tmux").args(["-L", &self.0, "kill-server"]).output();
        }
    }
    let _server = Server(sock.clone());
    let cmd = format!("{} top {} --interval 0.2", bin(), name.0);
    let out = tmux(&sock, &["new-session", "-d", "-s", "top", "-x", "160", "-y", "40", &cmd]);
    assert!(out.status.success(), "tmux: {}", String::from_utf8_lossy(&out.stderr));

    // Wait for a frame with a nonzero rate for the spinning barrier.
    let start = Instant::now();
    let screen = loop {
        let cap = tmux(&sock, &["capture-pane", "-p", "-t", "top"]);
        let text = String::from_utf8_lossy(&cap.stdout).into_owned();
        let rate = text
            .lines()
            .find(|l| l.starts_with("spin "))
            .and_then(|l| l.split_whitespace().nth(4))
            .and_then(|r| r.parse::<f64>().ok());
        if rate.is_some_and(|r| r > 0.0) {
            break text;
        }
        assert!(start.elapsed() < WATCHDOG, "no frame with a rate; screen:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(screen.contains(&format!("muster top {}", name.0)), "{screen}");
    assert!(screen.contains("EPISODES/S") && screen.contains("counted"), "{screen}");
    assert!(screen.contains("1 alive"), "{screen}");

    // `q` quits and the terminal is restored (the session ends with the command).
    assert!(tmux(&sock, &["send-keys", "-t", "top", "q"]).status.success());
    let start = Instant::now();
    while tmux(&sock, &["has-session", "-t", "top"]).status.success() {
        assert!(start.elapsed() < WATCHDOG, "top did not quit on q");
        std::thread::sleep(Duration::from_millis(50));
    }
}
