//! The C ABI from the outside: builds libmuster in release mode, installs it into a temporary
//! prefix with `scripts/install.sh`, and runs real clients against the *installed* header and
//! library: the C programs in `tests/c/` (compiled with `cc -std=c99 -pedantic -Werror`, linked
//! through pkg-config, dynamically and statically), the header as C++, and the Python ctypes
//! module in `tests/python/`. Every child runs under a watchdog: it is killed (with its whole
//! process group) and the test fails after `LIMIT`.
//!
//! Needs `cc` and `sh`; the C++ and Python clients are skipped (with a message) when `c++` or
//! `python3` is missing.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The most any client program may take.
const LIMIT: Duration = Duration::from_secs(120);
/// The release build plus install (a cold build of the workspace).
const BUILD_LIMIT: Duration = Duration::from_secs(1200);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Install {
    prefix: PathBuf,
    bin: PathBuf,
}

impl Install {
    fn lib(&self) -> PathBuf {
        self.prefix.join("lib")
    }
    fn pkg_config_path(&self) -> PathBuf {
        self.lib().join("pkgconfig")
    }
}

struct Output {
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` in its own process group; kills the group and panics after `limit`.
/// Clients normally run side by side; a client that measures fairness between busy processes
/// (Goldsmith) runs alone, so the others' processes cannot decide its shares.
static CPU: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn run(cmd: &mut Command, limit: Duration, what: &str) -> Output {
    let _side_by_side = CPU.read().unwrap_or_else(|e| e.into_inner());
    run_unlocked(cmd, limit, what)
}

/// [`run`] with every other client held back.
fn run_alone(cmd: &mut Command, limit: Duration, what: &str) -> Output {
    let _alone = CPU.write().unwrap_or_else(|e| e.into_inner());
    run_unlocked(cmd, limit, what)
}

fn run_unlocked(cmd: &mut Command, limit: Duration, what: &str) -> Output {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{what}: cannot start {cmd:?}: {e}"));
    let pid = child.id() as libc::pid_t;
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let err = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break Some(status);
        }
        if start.elapsed() > limit {
            // SAFETY: plain syscall; `-pid` names the process group the child leads (process_group(0)).
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // Grandchildren still holding the pipes are in the same group; make sure they are gone.
    // SAFETY: as above; the group may already be empty (ESRCH is fine).
    unsafe { libc::kill(-pid, libc::SIGKILL) };
    let (stdout, stderr) = (out.join().unwrap_or_default(), err.join().unwrap_or_default());
    match status {
        Some(status) => Output { status, stdout, stderr },
        None => panic!("{what}: killed after {limit:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}"),
    }
}

/// Like `run`, and panics unless the command succeeded.
fn run_ok(cmd: &mut Command, limit: Duration, what: &str) -> Output {
    let o = run(cmd, limit, what);
    assert_ok(&o, what);
    o
}

/// Panics with both outputs unless `o` is a success.
fn assert_ok(o: &Output, what: &str) {
    assert!(o.status.success(), "{what} failed ({})\n--- stdout\n{}\n--- stderr\n{}", o.status, o.stdout, o.stderr);
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok()
}

/// Removes the install directories of earlier runs whose test process is gone.
fn remove_stale_runs(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else { return };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("ffi-clients-")).and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Builds and installs libmuster once per test process.
fn installed() -> &'static Install {
    static INSTALL: OnceLock<Result<Install, String>> = OnceLock::new();
    let r = INSTALL.get_or_init(|| {
        let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        remove_stale_runs(&tmp);
        let base = tmp.join(format!("ffi-clients-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let prefix = base.join("prefix");
        let bin = base.join("bin");
        std::fs::create_dir_all(&bin).map_err(|e| e.to_string())?;
        // A target directory of its own: the outer `cargo test` may hold the lock on its own.
        let target = tmp.join("ffi-clients-target");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let result = std::panic::catch_unwind(|| {
            run_ok(
                Command::new("sh")
                    .arg(root().join("scripts/install.sh"))
                    .arg(&prefix)
                    .env("CARGO", &cargo)
                    .env("CARGO_TARGET_DIR", &target)
                    .current_dir(root()),
                BUILD_LIMIT,
                "scripts/install.sh",
            )
        });
        match result {
            Ok(_) => Ok(Install { prefix, bin }),
            Err(e) => {
                Err(e.downcast_ref::<String>().cloned().unwrap_or_else(|| "scripts/install.sh panicked".to_owned()))
            }
        }
    });
    match r {
        Ok(i) => i,
        Err(e) => panic!("installing libmuster failed:\n{e}"),
    }
}

/// `pkg-config --cflags --libs muster` against the installed `.pc` file (split into words).
fn pkg_config(inst: &Install, args: &[&str]) -> Vec<String> {
    let o = run_ok(
        Command::new("pkg-config").args(args).arg("muster").env("PKG_CONFIG_PATH", inst.pkg_config_path()),
        LIMIT,
        "pkg-config",
    );
    o.stdout.split_whitespace().map(str::to_owned).collect()
}

fn compile_flags(inst: &Install) -> (Vec<String>, Vec<String>) {
    if have("pkg-config") {
        (pkg_config(inst, &["--cflags"]), pkg_config(inst, &["--libs"]))
    } else {
        eprintln!("pkg-config not found: using explicit -I/-L flags");
        (
            vec![format!("-I{}", inst.prefix.join("include").display())],
            vec![format!("-L{}", inst.lib().display()), "-lmuster".to_owned()],
        )
    }
}

/// A compiler and the language standard a client is held to.
#[derive(Clone, Copy)]
struct Lang {
    compiler: &'static str,
    std: &'static str,
    /// Reads the `.c` sources as C++ (`-x c++`).
    as_cxx: bool,
}

const C99: Lang = Lang { compiler: "cc", std: "-std=c99", as_cxx: false };
const C11: Lang = Lang { compiler: "cc", std: "-std=c11", as_cxx: false };
const CXX11: Lang = Lang { compiler: "c++", std: "-std=c++11", as_cxx: false };
/// The C programs compiled as C++: the header's declarations are usable from C++.
const C_AS_CXX11: Lang = Lang { compiler: "c++", std: "-std=c++11", as_cxx: true };

/// How a client links libmuster.
#[derive(Clone, Copy)]
enum Link {
    /// `libmuster.so`, with an rpath to the prefix.
    Dynamic,
    /// `libmuster.a` and what a Rust staticlib needs.
    Static,
}

/// Compiles `tests/c/<src>` as `lang`, linked as `link`; returns the executable `bin/<out>`.
fn compile(inst: &Install, lang: Lang, src: &str, out: &str, link: Link) -> PathBuf {
    let (cflags, libs) = compile_flags(inst);
    let exe = inst.bin.join(out);
    let mut cmd = Command::new(lang.compiler);
    cmd.args([lang.std, "-Wall", "-Wextra", "-Werror", "-pedantic", "-O1", "-g"])
        .arg(format!("-DEXPECTED_VERSION=\"{}\"", env!("CARGO_PKG_VERSION")))
        .args(&cflags);
    if lang.as_cxx {
        cmd.args(["-x", "c++"]).arg(root().join("tests/c").join(src)).args(["-x", "none"]);
    } else {
        cmd.arg(root().join("tests/c").join(src));
    }
    cmd.arg("-o").arg(&exe);
    match link {
        Link::Static => {
            // The archive itself, then what a Rust staticlib needs (the .pc file's Libs.private).
            cmd.arg(inst.lib().join("libmuster.a"));
            let private = if have("pkg-config") {
                pkg_config(inst, &["--static", "--libs"])
            } else {
                ["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl", "-lc"].map(str::to_owned).to_vec()
            };
            cmd.args(private.iter().filter(|f| !f.starts_with("-L") && *f != "-lmuster"));
        }
        Link::Dynamic => {
            cmd.args(&libs).arg(format!("-Wl,-rpath,{}", inst.lib().display()));
        }
    }
    let what = if lang.as_cxx { format!("compiling {src} as C++") } else { format!("compiling {src}") };
    run_ok(&mut cmd, LIMIT, &what);
    exe
}

fn run_client(exe: &Path, args: &[&str]) {
    let what = format!("{} {}", exe.display(), args.join(" "));
    let o = run_ok(Command::new(exe).args(args), LIMIT, &what);
    eprint!("{}", o.stdout);
}

/// Whether a C++ client is skipped for want of `c++` (and says so); `cc` is required.
fn skipped(lang: Lang) -> bool {
    let skip = lang.compiler == "c++" && !have("c++");
    if skip {
        eprintln!("SKIPPED: no c++ compiler");
    }
    skip
}

/// Compiles `tests/c/<src>` into `bin/<out>` and runs it with `args`.
fn client(lang: Lang, src: &str, out: &str, link: Link, args: &[&str]) {
    if !skipped(lang) {
        run_client(&compile(installed(), lang, src, out, link), args);
    }
}

/// [`client`] for each program `tests/c/<stem>.c` of `stems`, into `bin/<stem><suffix>`, with no
/// arguments.
fn clients(lang: Lang, stems: &[&str], suffix: &str, link: Link) {
    if !skipped(lang) {
        for stem in stems {
            run_client(&compile(installed(), lang, &format!("{stem}.c"), &format!("{stem}{suffix}"), link), &[]);
        }
    }
}

/// The names `libmuster.so` exports (`nm -D --defined-only`).
fn exported(inst: &Install) -> Vec<String> {
    let o = run_ok(
        Command::new("nm").args(["-D", "--defined-only"]).arg(inst.lib().join("libmuster.so")),
        LIMIT,
        "nm -D --defined-only",
    );
    o.stdout.lines().filter_map(|l| l.split_whitespace().nth(2)).map(str::to_owned).collect()
}

/// The checked-in `include/muster.h`.
fn header() -> String {
    std::fs::read_to_string(root().join("include/muster.h")).unwrap()
}

#[test]
fn installed_layout_soname_and_pkg_config() {
    let inst = installed();
    for f in
        ["include/muster.h", "lib/libmuster.a", "lib/libmuster.so", "lib/libmuster.so.0", "lib/pkgconfig/muster.pc"]
    {
        assert!(inst.prefix.join(f).exists(), "{f} not installed");
    }
    let version = env!("CARGO_PKG_VERSION");
    assert!(inst.lib().join(format!("libmuster.so.{version}")).exists());
    assert_eq!(
        std::fs::read(inst.prefix.join("include/muster.h")).unwrap(),
        std::fs::read(root().join("include/muster.h")).unwrap()
    );
    if have("readelf") {
        let o = run_ok(Command::new("readelf").arg("-d").arg(inst.lib().join("libmuster.so")), LIMIT, "readelf");
        assert!(o.stdout.contains("Library soname: [libmuster.so.0]"), "SONAME missing:\n{}", o.stdout);
    }
    if have("pkg-config") {
        assert_eq!(pkg_config(inst, &["--modversion"]), [version]);
    }
}

#[test]
fn only_muster_symbols_are_exported() {
    let names = exported(installed());
    let stray: Vec<&String> = names.iter().filter(|n| !n.starts_with("muster_")).collect();
    assert!(stray.is_empty(), "non-muster symbols exported: {stray:?}");
    let required = [
        "muster_region_create",
        "muster_region_open",
        "muster_region_open_or_create",
        "muster_region_close",
        "muster_region_unlink",
        "muster_region_config_init",
        "muster_barrier_open",
        "muster_barrier_close",
        "muster_barrier_enroll",
        "muster_barrier_resign",
        "muster_barrier_wait",
        "muster_barrier_wait_timeout",
        "muster_barrier_abort",
        "muster_barrier_reset",
        "muster_barrier_parties",
        "muster_barrier_waiting",
        "muster_barrier_broken",
        "muster_barrier_is_member",
        "muster_barrier_generation",
        "muster_barrier_arrive",
        "muster_barrier_await",
        "muster_barrier_is_complete",
        "muster_barrier_arrive_and_drop",
        "muster_barrier_set_action",
        "muster_strerror",
        "muster_version",
        "muster_last_error_message",
        "muster_last_peer_pid",
    ];
    for r in required {
        assert!(names.iter().any(|n| n == r), "{r} is not exported");
    }
    // Everything exported is declared in the header.
    let header = header();
    for n in &names {
        assert!(header.contains(&format!(" {n}(")) || header.contains(&format!("*{n}(")), "{n} is not in muster.h");
    }
}

/// One `#[test]` per client program, named by the entry: `name => client(..)` or `clients(..)`.
macro_rules! client_tests {
    ($($(#[$attr:meta])* $name:ident => $run:expr;)*) => {$(
        $(#[$attr])*
        #[test]
        fn $name() {
            $run
        }
    )*};
}

/// The C programs of the alting API besides `alting_select.c`, one per topic.
const ALTING_API: [&str; 5] =
    ["alting_errors", "alting_owners", "alting_poll", "alting_expand_contract", "alting_config"];

client_tests! {
    header_compiles_as_cxx => client(CXX11, "header_cxx.cpp", "header_cxx", Link::Dynamic, &[]);
    c_error_paths => client(C99, "errors.c", "errors", Link::Dynamic, &[]);
    c_error_paths_static_link => client(C99, "errors.c", "errors_static", Link::Static, &[]);
    c_timeouts => client(C99, "timeouts.c", "timeouts", Link::Dynamic, &[]);
    c_abort_reset_and_peer_death => client(C99, "abort_reset.c", "abort_reset", Link::Dynamic, &[]);
    c_split_phase_actions_and_counted_peer_death =>
        client(C11, "split_phase.c", "split_phase", Link::Dynamic, &[]);
    c_phases_counted_8_processes =>
        client(C99, "phase.c", "phase_counted", Link::Dynamic, &["counted", "8", "10000"]);
    c_phases_membership_8_processes =>
        client(C99, "phase.c", "phase_member", Link::Dynamic, &["member", "8", "10000"]);
    c_alting_api => clients(C99, &ALTING_API, "", Link::Dynamic);
    c_alting_api_static_link => clients(C99, &ALTING_API, "_static", Link::Static);
    c_alting_select_and_channels => client(C99, "alting_select.c", "alting_select", Link::Dynamic, &[]);
    /// The alting test programs compiled as C++ (`-x c++`): the new declarations are usable from C++.
    c_alting_as_cxx =>
        clients(C_AS_CXX11, &[&ALTING_API[..], &["alting_select"]].concat(), "_cxx", Link::Dynamic);
}

#[test]
fn python_client() {
    let python = ["python3", "python"].into_iter().find(|p| have(p));
    let Some(python) = python else {
        eprintln!("SKIPPED: no python3");
        return;
    };
    let inst = installed();
    let o = run_ok(
        Command::new(python)
            .args(["-m", "unittest", "discover", "-v", "-s"])
            .arg(root().join("tests/python"))
            .env("MUSTER_LIB", inst.lib().join("libmuster.so.0"))
            .env("MUSTER_EXPECTED_VERSION", env!("CARGO_PKG_VERSION"))
            .env("PYTHONDONTWRITEBYTECODE", "1"),
        LIMIT,
        "python tests/python",
    );
    eprint!("{}", o.stderr);
    assert!(o.stderr.contains("\nOK"), "unexpected unittest output:\n{}", o.stderr);
    // All three files ran: the shared test_muster.py (plain barriers) and test_alting.py (alting
    // API) from python/tests/, and tests/python/test_c_abi.py, which loads them.
    for t in [
        "test_processes_meet (test_muster.",
        "test_goldsmith_3_processes (test_alting.",
        "test_ctrl_c_interrupts_a_wait_without_breaking_it (test_c_abi.",
    ] {
        assert!(o.stderr.contains(t), "{t} did not run:\n{}", o.stderr);
    }
}

#[test]
fn checked_in_header_is_current() {
    // CI runs scripts/check-header.sh itself; here it runs when the pinned cbindgen is installed.
    let pinned = std::fs::read_to_string(root().join("scripts/check-header.sh"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("CBINDGEN_VERSION=").map(str::to_owned))
        .expect("CBINDGEN_VERSION in scripts/check-header.sh");
    let found = Command::new("cbindgen")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    if found.as_deref().is_none_or(|v| v.split_whitespace().nth(1) != Some(pinned.as_str())) {
        eprintln!("SKIPPED: cbindgen {pinned} not installed (found {found:?})");
        return;
    }
    run_ok(Command::new("sh").arg(root().join("scripts/check-header.sh")), LIMIT, "scripts/check-header.sh");
}

// ---- Alting barriers, channels and the Alternative (tests/c/alting_*.c) ----

#[test]
fn alting_symbols_are_exported() {
    let names = exported(installed());
    let header = header();
    let required = [
        "muster_alting_create",
        "muster_alting_attach",
        "muster_alting_close",
        "muster_alting_reset",
        "muster_alting_enroll",
        "muster_alting_resign",
        "muster_alting_sync",
        "muster_alting_poll",
        "muster_alting_expand",
        "muster_alting_expanded",
        "muster_alting_contract",
        "muster_alting_contract_self",
        "muster_alting_index",
        "muster_alting_completions",
        "muster_channel_open",
        "muster_channel_close",
        "muster_channel_write",
        "muster_channel_try_write",
        "muster_channel_read",
        "muster_channel_try_read",
        "muster_alt_create",
        "muster_alt_destroy",
        "muster_alt_add_alting",
        "muster_alt_add_channel",
        "muster_alt_add_skip",
        "muster_alt_select",
        "muster_alt_ticket",
        "muster_alt_count",
    ];
    for r in required {
        assert!(names.iter().any(|n| n == r), "{r} is not exported");
        assert!(header.contains(&format!(" {r}(")), "{r} is not declared in muster.h");
    }
    for t in ["typedef struct muster_alting muster_alting;", "typedef struct muster_alt muster_alt;"] {
        assert!(header.contains(t), "muster.h lacks `{t}`");
    }
    for m in [
        "MUSTER_SELECT_ARBITRARY",
        "MUSTER_SELECT_PRI",
        "MUSTER_SELECT_FAIR",
        "MUSTER_CHANNEL_OVERWRITE",
        "MUSTER_CHANNEL_ONE_TO_ONE",
    ] {
        assert!(header.contains(&format!("#define {m} ")), "muster.h lacks {m}");
    }
}

#[test]
fn c_alting_goldsmith_3_processes() {
    let exe = compile(installed(), C99, "alting_goldsmith.c", "alting_goldsmith", Link::Dynamic);
    let o = run_alone(Command::new(&exe).arg("600000"), LIMIT, "alting_goldsmith 600000");
    eprint!("{}", o.stdout);
    assert_ok(&o, "alting_goldsmith");
    assert!(o.stdout.contains("events/s"), "no rate reported:\n{}", o.stdout);
}
