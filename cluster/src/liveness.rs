//! Liveness across hosts: each process's lease, kept alive in the background, and its **beat**,
//! a lease-bound key it rewrites every fifth of the TTL.
//!
//! Why beats as well as the lease: etcd expires a lease only a TTL after its last refresh,
//! checks for expired leases every 500 ms, and a new Raft leader *renews every lease* when it
//! takes over (expiry = promotion + election timeout + TTL). So a host cut off together with the
//! etcd member that was leader was seen dead only after ~3.5 s with a 2 s TTL. A beat is a Raft
//! write, so whoever reads it sees when it last changed, whatever the leases do.
//!
//! The rule a waiting member applies (see `ClusterBarrier::meet_on`): a member process whose
//! beat has not changed for [`silence`] (half the TTL) **while this process's own beats kept
//! succeeding** (at least [`MIN_OWN_BEATS`] of them in that time: etcd was writable) is dead.
//! Waiting members read the beats at most every [`poll`] (a tenth of the TTL), and only once
//! their wait has lasted a poll: reading on every wait put a read on each generation's critical
//! path (measured 39.8 ms per generation instead of 22.7 ms for 3 hosts x 2 processes). A stall
//! of etcd itself (an election) stops every beat at once, ours too, so it declares nobody dead;
//! and it delays detection: when the cut-off member was the Raft leader, our own beats resume
//! only after the election. Measured with a 2 s TTL (`cargo test -p muster-cluster --release
//! --test faults -- --nocapture`): a whole host SIGKILLed, HostDied after 1.27 s; a host cut
//! off with the etcd leader, 1.82–1.85 s (3.5 s on leases alone); the cut-off host's processes
//! get `Unavailable` after 2.02 s. The fault tests that kill the etcd leader now run a 3 s TTL
//! (host cut off with the leader: HostDied after 2.6–3.2 s, the cut-off host `Unavailable` after
//! 3.02 s), because one CI run's election outlasted 2 s.
//!
//! So the TTL must outlast the etcd cluster's leader election: while there is no leader nobody's
//! beat succeeds, and a process that went a whole TTL without one declares itself lost (below).
//! Elections of the test cluster (election timeout 500 ms) took 0.64–1.0 s; etcd's default
//! election timeout is 1 s, which wants a TTL of 3 s or more.
//!
//! The process's own side: a process that could not write its beat (or refresh its lease) for a
//! whole TTL declares its session lost (`Error::Unavailable`): the others consider it dead.

use etcd_client::{Client, PutOptions};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Pause between retries after a failed keep-alive stream.
const RETRY_PAUSE: Duration = Duration::from_millis(50);

/// A silent member is dead only if this process wrote at least this many beats meanwhile.
pub(crate) const MIN_OWN_BEATS: u64 = 2;

/// How often a process rewrites its beat: a fifth of the TTL.
pub(crate) fn beat_period(ttl: Duration) -> Duration {
    ttl / 5
}

/// How long a beat may stay unchanged before its process counts as dead: half the TTL (two and
/// a half beat periods).
pub(crate) fn silence(ttl: Duration) -> Duration {
    ttl / 2
}

/// How often a waiting member reads the beats: a tenth of the TTL.
pub(crate) fn poll(ttl: Duration) -> Duration {
    ttl / 10
}

/// The beat key of process `pid` with lease `lease` on `host`, under the session's prefix.
pub(crate) fn beat_key(prefix: &str, host: &str, pid: u32, lease: i64) -> String {
    format!("{prefix}beat/{host}/{pid}.{lease:x}")
}

/// Prefix of every beat key of process `pid` on `host`.
pub(crate) fn process_beats(prefix: &str, host: &str, pid: u32) -> String {
    format!("{prefix}beat/{host}/{pid}.")
}

/// Keeps `lease` alive (a refresh every third of the TTL; a broken keep-alive stream is opened
/// again, maybe on another etcd member) and, in a second task, rewrites the beat `key` every
/// [`beat_period`] (see [`beat`]). Declares the session lost when etcd reports the lease expired,
/// or when no refresh, or no beat, succeeded for a whole TTL.
pub(crate) async fn keep_alive(
    client: Client,
    lease: i64,
    key: String,
    ttl: Duration,
    beats: Arc<AtomicU64>,
    lost: watch::Sender<Option<String>>,
) {
    let lost = Arc::new(lost);
    let beating = tokio::spawn(beat(client.clone(), lease, key, ttl, beats, lost.clone()));
    refresh(client, lease, ttl, &lost).await;
    beating.abort();
}

async fn refresh(client: Client, lease: i64, ttl: Duration, lost: &watch::Sender<Option<String>>) {
    let period = ttl / 3;
    let mut last_ok = Instant::now();
    loop {
        let mut c = client.clone();
        let stream = tokio::time::timeout(period, c.lease_keep_alive(lease)).await;
        if let Ok(Ok((mut keeper, mut stream))) = stream {
            loop {
                if keeper.keep_alive().await.is_err() {
                    break;
                }
                match tokio::time::timeout(period, stream.message()).await {
                    Ok(Ok(Some(r))) if r.ttl() > 0 => last_ok = Instant::now(),
                    Ok(Ok(Some(_))) => {
                        let _ =
                            lost.send(Some("etcd lease expired: the other hosts consider this process dead".into()));
                        return;
                    }
                    _ => break,
                }
                tokio::time::sleep(period).await;
            }
        }
        if last_ok.elapsed() >= ttl || lost.borrow().is_some() {
            let _ = lost.send(Some(unreachable(ttl)));
            return;
        }
        tokio::time::sleep(RETRY_PAUSE).await;
    }
}

/// Rewrites the beat every [`beat_period`]; a failed write is retried (after [`RETRY_PAUSE`],
/// each try bounded by what is left of the period), so one etcd member that died costs a beat
/// at most one retry. Counts successful beats in `beats`.
async fn beat(
    client: Client,
    lease: i64,
    key: String,
    ttl: Duration,
    beats: Arc<AtomicU64>,
    lost: Arc<watch::Sender<Option<String>>>,
) {
    let period = beat_period(ttl);
    let mut last_ok = Instant::now();
    let mut n: u64 = 0;
    loop {
        let round = Instant::now();
        n += 1;
        let end = round + period;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let mut c = client.clone();
            let put = c.put(key.clone(), n.to_string(), Some(PutOptions::new().with_lease(lease)));
            if matches!(tokio::time::timeout(left, put).await, Ok(Ok(_))) {
                last_ok = Instant::now();
                beats.fetch_add(1, Ordering::Relaxed);
                break;
            }
            tokio::time::sleep(RETRY_PAUSE.min(end.saturating_duration_since(Instant::now()))).await;
        }
        if last_ok.elapsed() >= ttl {
            let _ = lost.send(Some(unreachable(ttl)));
            return;
        }
        tokio::time::sleep(end.saturating_duration_since(Instant::now())).await;
    }
}

fn unreachable(ttl: Duration) -> String {
    format!("etcd unreachable for the whole lease TTL ({ttl:?}): the other hosts consider this process dead")
}

/// What a waiting member knows of the other members' beats.
#[derive(Debug, Default)]
pub(crate) struct Beats {
    /// Beat key -> (value, when we first saw that value, our own beat count then).
    seen: HashMap<String, (Vec<u8>, Instant, u64)>,
    /// When we last read the beats.
    pub(crate) last_read: Option<Instant>,
}

impl Beats {
    /// Whether it is time to read the beats again.
    pub(crate) fn due(&self, ttl: Duration) -> bool {
        self.last_read.is_none_or(|t| t.elapsed() >= poll(ttl))
    }

    /// Records a read of the beats (`values`: beat key -> value) and returns the first of
    /// `suspects` (beat key, host, pid) that has been silent too long (see the module docs).
    /// `own` is this process's count of successful beats. A suspect without a beat key is
    /// skipped: its lease is gone, and its member keys go with it (a death the watch reports).
    pub(crate) fn silent(
        &mut self,
        values: &HashMap<String, Vec<u8>>,
        suspects: &[(String, String, u32)],
        own: u64,
        ttl: Duration,
    ) -> Option<(String, u32)> {
        let now = Instant::now();
        self.last_read = Some(now);
        self.seen.retain(|k, _| values.contains_key(k));
        let mut dead = None;
        for (key, host, pid) in suspects {
            let Some(v) = values.get(key) else { continue };
            match self.seen.get(key) {
                Some((old, since, own_then)) if old == v => {
                    if dead.is_none()
                        && now.duration_since(*since) >= silence(ttl)
                        && own.saturating_sub(*own_then) >= MIN_OWN_BEATS
                    {
                        dead = Some((host.clone(), *pid));
                    }
                }
                _ => {
                    self.seen.insert(key.clone(), (v.clone(), now, own));
                }
            }
        }
        dead
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_needs_time_and_our_own_beats() {
        let ttl = Duration::from_millis(100);
        let mut b = Beats::default();
        let key = "p/beat/h/1.a".to_owned();
        let suspects = vec![(key.clone(), "h".to_owned(), 1)];
        let mut values = HashMap::from([(key.clone(), b"1".to_vec())]);
        assert_eq!(b.silent(&values, &suspects, 0, ttl), None);
        std::thread::sleep(silence(ttl));
        // Unchanged for long enough, but we could not write either (etcd stalled): alive.
        assert_eq!(b.silent(&values, &suspects, 1, ttl), None);
        // We wrote beats meanwhile: dead.
        assert_eq!(b.silent(&values, &suspects, 2, ttl), Some(("h".to_owned(), 1)));
        // A changed beat restarts the clock.
        values.insert(key.clone(), b"2".to_vec());
        assert_eq!(b.silent(&values, &suspects, 9, ttl), None);
        assert_eq!(b.silent(&values, &suspects, 20, ttl), None);
        // A vanished beat is not judged.
        values.clear();
        std::thread::sleep(silence(ttl));
        assert_eq!(b.silent(&values, &suspects, 40, ttl), None);
    }
}
