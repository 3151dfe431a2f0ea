//! A throw-away local etcd cluster for tests and benchmarks: `n` members of the `etcd` binary on
//! 127.0.0.1 with free ports and data directories in a fresh temporary directory. Members can be
//! killed and restarted; dropping the value kills every member and removes the directory, and
//! each member also gets `SIGKILL` if the thread that started it dies (`PR_SET_PDEATHSIG`), so a
//! crashed test leaves no server behind.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The etcd binary (`MUSTER_ETCD` overrides).
pub fn etcd_binary() -> String {
    std::env::var("MUSTER_ETCD").unwrap_or_else(|_| "etcd".into())
}

/// Whether an `etcd` binary can be run here.
pub fn etcd_available() -> bool {
    Command::new(etcd_binary())
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

struct Member {
    name: String,
    client: u16,
    peer: u16,
    child: Option<Child>,
}

/// A running local etcd cluster.
pub struct EtcdCluster {
    dir: PathBuf,
    token: String,
    members: Vec<Member>,
}

/// Creates the directory the members keep their data in: `/dev/shm/.<token>` (tmpfs) where that
/// can be created, else `<temp dir>/.<token>`. A test cluster needs no durability, and every
/// Raft write (each beat, each vote of an election) waits for an fsync: on a slow CI disk that
/// stretched a leader election past a worker's 2 s lease TTL, and the survivors of a fault test
/// reported etcd unavailable. The name starts with `.`, so region listings and `muster clean`
/// skip it.
fn data_dir(token: &str) -> std::io::Result<std::path::PathBuf> {
    let shm = std::path::Path::new("/dev/shm").join(format!(".{token}"));
    if std::fs::create_dir_all(&shm).is_ok() {
        return Ok(shm);
    }
    let tmp = std::env::temp_dir().join(format!(".{token}"));
    std::fs::create_dir_all(&tmp)?;
    Ok(tmp)
}

fn free_ports(n: usize) -> std::io::Result<Vec<u16>> {
    // Hold all listeners at once so the ports are distinct.
    let ls = (0..n).map(|_| TcpListener::bind("127.0.0.1:0")).collect::<std::io::Result<Vec<_>>>()?;
    ls.iter().map(|l| l.local_addr().map(|a| a.port())).collect()
}

impl EtcdCluster {
    /// Starts `n` members and waits (up to 60 s) until every one reports healthy.
    pub fn start(n: usize) -> std::io::Result<EtcdCluster> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let token = format!("muster-{}-{nanos}", std::process::id());
        let dir = data_dir(&token)?;
        let ports = free_ports(2 * n)?;
        let members = (0..n)
            .map(|i| Member { name: format!("m{i}"), client: ports[2 * i], peer: ports[2 * i + 1], child: None })
            .collect();
        let mut c = EtcdCluster { dir, token, members };
        for i in 0..n {
            c.spawn(i, true)?;
        }
        if !c.wait_healthy(Duration::from_secs(60)) {
            return Err(std::io::Error::other(format!("etcd cluster did not become healthy; logs in {:?}", c.dir)));
        }
        Ok(c)
    }

    fn spawn(&mut self, i: usize, new: bool) -> std::io::Result<()> {
        let initial: Vec<String> =
            self.members.iter().map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer)).collect();
        let m = &self.members[i];
        let log =
            std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join(format!("{}.log", m.name)))?;
        let mut cmd = Command::new(etcd_binary());
        cmd.arg("--name")
            .arg(&m.name)
            .arg("--data-dir")
            .arg(self.dir.join(&m.name))
            .arg("--listen-client-urls")
            .arg(format!("http://127.0.0.1:{}", m.client))
            .arg("--advertise-client-urls")
            .arg(format!("http://127.0.0.1:{}", m.client))
            .arg("--listen-peer-urls")
            .arg(format!("http://127.0.0.1:{}", m.peer))
            .arg("--initial-advertise-peer-urls")
            .arg(format!("http://127.0.0.1:{}", m.peer))
            .arg("--initial-cluster")
            .arg(initial.join(","))
            .arg("--initial-cluster-token")
            .arg(&self.token)
            .arg("--initial-cluster-state")
            .arg(if new { "new" } else { "existing" })
            // Faster failover than the defaults (100/1000 ms) on a loopback cluster.
            .arg("--heartbeat-interval")
            .arg("50")
            .arg("--election-timeout")
            .arg("500")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // SAFETY: the closure runs in the child between fork and exec and only calls prctl(2),
        // which is async-signal-safe; it touches no memory of the parent.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        self.members[i].child = Some(child);
        Ok(())
    }

    /// Client endpoints (`127.0.0.1:port`) of all members, running or not.
    pub fn endpoints(&self) -> Vec<String> {
        (0..self.members.len()).map(|i| self.endpoint(i)).collect()
    }

    /// Client endpoint of member `i`.
    pub fn endpoint(&self, i: usize) -> String {
        format!("127.0.0.1:{}", self.members[i].client)
    }

    /// Kills member `i` with `SIGKILL` and reaps it.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.members[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Restarts member `i` on its data directory.
    pub fn restart(&mut self, i: usize) -> std::io::Result<()> {
        self.kill(i);
        self.spawn(i, false)
    }

    /// Whether member `i` answers `GET /health` with `"health":"true"`.
    pub fn healthy(&self, i: usize) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.members[i].client)) else { return false };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        if s.write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").is_err() {
            return false;
        }
        let mut body = String::new();
        let _ = s.read_to_string(&mut body);
        body.contains("\"health\":\"true\"")
    }

    /// The index of the member that is Raft leader now, asked through etcd's JSON gateway
    /// (`POST /v3/maintenance/status`); `None` if no running member answers.
    pub fn leader(&self) -> Option<usize> {
        for i in (0..self.members.len()).filter(|i| self.members[*i].child.is_some()) {
            let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.members[i].client)) else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let req = "POST /v3/maintenance/status HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
            if s.write_all(req.as_bytes()).is_err() {
                continue;
            }
            let mut body = String::new();
            let _ = s.read_to_string(&mut body);
            let field = |name: &str| {
                let at = body.find(&format!("\"{name}\":\""))? + name.len() + 4;
                body[at..].split('"').next().map(str::to_owned)
            };
            let (Some(me), Some(leader)) = (field("member_id"), field("leader")) else { continue };
            if me == leader {
                return Some(i);
            }
        }
        None
    }

    /// Waits until every running member is healthy.
    pub fn wait_healthy(&self, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if (0..self.members.len()).filter(|i| self.members[*i].child.is_some()).all(|i| self.healthy(i)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// The directory holding the members' data and logs.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
