//! # muster-cluster: Muster barriers across hosts, through etcd
//!
//! Inside a host the parties meet in the host's shared-memory region exactly as with a plain
//! Muster membership barrier (microseconds, no network). Once per generation one process per
//! host, the **host leader**, meets the other hosts' leaders through etcd (one Raft commit per
//! host, plus one to close the generation); every member learns the outcome from one etcd watch.
//!
//! ```no_run
//! use muster_cluster::{Cluster, ClusterConfig};
//! use muster_shm::{Region, RegionConfig};
//! # fn main() -> Result<(), muster_shm::Error> {
//! // The region carries the cluster it spans; MUSTER_CLUSTER / MUSTER_HOST_ID / MUSTER_LEASE_MS
//! // override it (so `RegionConfig::default()` plus the environment works too).
//! let config = RegionConfig {
//!     cluster: Some(ClusterConfig::new(["10.0.0.1:2379", "10.0.0.2:2379", "10.0.0.3:2379"])),
//!     ..RegionConfig::default()
//! };
//! let region = Region::open_or_create("my-app", &config)?;
//! let cluster = Cluster::from_region(&region)?;     // meets as "my-app" on every host
//! let phase = cluster.join("Phase 1")?;          // this process joins, on whichever host
//! for _ in 0..10 {
//!     // ... this phase's work ...
//!     let w = phase.wait()?;                      // every member on every host arrived
//!     println!("generation {} with hosts {:?}", w.generation, w.values.keys());
//! }
//! # Ok(()) }
//! ```
//!
//! ## Configuration without changing a program
//!
//! [`ClusterConfig`] `{ endpoints, host_id, lease_ttl }` is plain data defined in `muster-shm`
//! and carried by [`muster_shm::RegionConfig::cluster`], so the region layer needs no etcd.
//! [`Cluster::from_region`] reads it (environment variables win); `Region::barrier` on such a
//! region refuses rather than serving one host (`Region::host_barrier` is the host stage this
//! crate uses). The C ABI does the routing
//! itself when libmuster is built with its `cluster` feature: a region opened with
//! `cluster_endpoints` (or under `MUSTER_CLUSTER`) turns `muster_barrier_open(r, name, 0, ..)`
//! into a [`ClusterBarrier`], so a C program that only calls region and barrier functions spans
//! hosts unchanged (`tests/c/cluster.c`). Without the feature libmuster refuses such a
//! configuration with `MUSTER_EUNAVAILABLE` instead of serving it from one host.
//! `MUSTER_CLUSTER_NAME` sets the name the region has across hosts (default: its own name), for
//! simulating hosts on one machine with one local region each.
//!
//! ## Semantics (The Grinder's named barriers, across hosts)
//!
//! * A process joins (`Cluster::join`, or `enroll`) on any host; a host takes part while it has
//!   at least one member. A generation completes when every member of every taking-part host
//!   arrived.
//! * `wait_timeout` cancels the member on timeout (`Error::Timeout`, then `Error::Cancelled`
//!   until it enrolls again); `resign` withdraws it; dropping an enrolled handle resigns it.
//!   Members may join and leave between generations (and during one: a join counts from the
//!   generation open at its etcd commit, see below).
//! * `wait_with(timeout, value)`: the host leader runs `value` after the local stage (it sees
//!   every local write made before arrival) and its bytes reach every member on every host in
//!   [`ClusterWait::values`]: the cross-host counterpart of "all see each other's writes".
//! * Split phase: [`ClusterBarrier::arrive`] returns at once, [`ClusterBarrier::await_arrival`]
//!   (or `await_with`, carrying a value) waits for the outcome; a timed-out await leaves the
//!   arrival standing. Protocol and rules: `split.rs`.
//! * Faults: a member that dies anywhere (its host SIGKILLed, or only its leader) breaks the
//!   generation: every member gets `Error::HostDied { host, pid }` within the lease TTL (default
//!   2 s; measured 1.3 s for a SIGKILLed host, 1.85 s for a host cut off with the etcd
//!   leader, see `liveness.rs`), the handle is broken until
//!   `reset`, and the barrier goes on with whoever is left.
//!   A local death is also reported locally as `Error::PeerDied` by the local stage, and the
//!   host's survivors delete the dead process's keys at once, so the other hosts hear of it
//!   without waiting for the TTL. etcd unreachable (or this process's lease lost: a partition)
//!   gives `Error::Unavailable` within the caller's timeout, or within the lease TTL without
//!   one; never a hang. A partitioned host looks dead to the others: its beats stop, and they
//!   get `HostDied` within the TTL even when the host was cut off together with the etcd Raft
//!   leader (whose successor renews every lease); the host itself gets `Unavailable` after one
//!   TTL without reaching etcd.
//!
//! ## Protocol
//!
//! Key layout: see `keys.rs`. Every process holds one etcd lease (TTL `lease_ttl`, refreshed
//! every third of it from a background thread, which also rewrites the process's lease-bound
//! beat key `beat/<host>/<pid>.<lease>` every fifth: see `liveness.rs`) and one lease-bound member key per
//! enrolled handle, `m/<host>/<pid>.<lease>.<n>`. Enrolling and resigning also put the `roster` key in
//! the same transaction, so a member key deleted in a revision without a `roster` put is a death
//! (lease expiry, or a host peer reporting it).
//!
//! One wait of a member `p` on host `H`:
//! 1. **Local stage.** `p` waits on the region's membership barrier of the same name. The local
//!    generation's arrival 0 is `H`'s leader for this generation, and its local generation
//!    number `l` identifies the round on `H`.
//! 2. **Arrival.** The leader reads `cur` (the open cluster generation `g`), runs `value`, and
//!    commits `if cur == g and no arrival of H at g: put g/<g>/a/H = value; put h/H/at = "l g"`.
//!    A leader cannot see a stale `g`: `g` completes only once every taking-part host arrived,
//!    `H` takes part (its members are enrolled), and `H`'s next leader is chosen only after every
//!    member of `H` came back from this generation.
//! 3. **Wait for the outcome.** Every member (leader or not) reads the barrier's keys at
//!    revision `R` and watches them from `R + 1`. A non-leader learns `g` from `h/H/at` once
//!    its value names its own local generation `l` (so a process that joined the host during
//!    the etcd stage of the previous round cannot mistake that round for its own). Whenever a
//!    snapshot shows that every host with members arrived at `g`, the observer commits `if no
//!    done(g) and cur == g and roster unchanged since the snapshot: put g/<g>/done = ok; put
//!    cur = g + 1; delete g/<g-2>/`. When the watch shows a death, the observer commits `done =
//!    dead <host> <pid>` (same conditions, without the roster check) for `g`, or, when it does not
//!    know `g` yet, for `cur` (its host has not arrived there, so it cannot have completed). A
//!    member whose beat went silent (see `liveness.rs`) counts as such a death; its `dead`
//!    commit also deletes that process's member and beat keys. The first commit wins; everyone
//!    returns what `done(g)` says.
//!
//! Why it is a barrier: `done(g) = ok` needs an arrival of every host that had members at the
//! deciding snapshot, with no enroll or resign since (the roster check; a host that joins
//! concurrently either makes the commit fail or reads `cur = g + 1` in its enroll). A host's
//! arrival needs its local stage, which needs every local member's arrival; the release needs
//! `done(g)`. So nobody passes generation `g` before every member arrived at it, and the values
//! read with `done(g)` are every host's arrivals. The local stage orders local memory; etcd's
//! linearizable reads and revision order carry the rest.
//!
//! Costs per generation with `h` hosts: `h` arrival commits + 1 done commit (usually one; two
//! observers racing both try, the loser's compare fails), `h * procs` reads, and watch events.
//! etcd's `DoubleBarrier` recipe ([`recipe`]) costs every process a put, a delete and several
//! reads per round.
//!
//! ## What it does not do, and why
//!
//! * **Counted barriers across hosts** (`parties = N` spread over hosts) are not offered, because
//!   the design does not allow them cleanly:
//!   - The local stage aggregates arrivals per host (that is where the speed comes from), so
//!     `N` would have to be split into a fixed share `n_H` per host, configured identically on
//!     every host. `muster_barrier_open(region, name, parties)` has no room for the shares, and
//!     changing one needs every host to agree at a generation boundary: that is a membership
//!     change, which the membership barrier already is.
//!   - A counted barrier's parties are the processes that arrived (a dead one breaks the
//!     generation, a replacement takes its place). Across hosts a host whose share has not
//!     started yet cannot be told apart from a host that died before its first arrival; the
//!     barrier would wait for it forever instead of reporting `HostDied`.
//!   - Without shares, every arrival must reach etcd on its own (a counter per generation),
//!     which is etcd's `DoubleBarrier` recipe: 154.5 ms per generation against 25.6 ms here
//!     (BENCHMARKS.md), and it loses the in-host fast path.
//!
//!   The membership barrier expresses "all `N` processes" with dynamic hosts: each joins, and
//!   the host set follows. On a region with a cluster the C ABI answers a counted barrier open
//!   with `MUSTER_EINVAL` rather than serving it from one host.
//! * **The local release** is the etcd watch, not the local barrier: a second local barrier as a
//!   release gate deadlocks with members that enroll while their host is in the etcd stage (the
//!   gate would count them while they wait at the first barrier).
//! * A process that joins concurrently with a generation's decision may be included or not
//!   (linearized by the etcd commit order), like a local enroll racing a completion.
//!
//! ## Known problems
//!
//! * The host leader is the local generation's arrival 0. If that arrival times out and
//!   withdraws while the others complete the local generation, nobody leads the host in that
//!   generation and its other members wait (until their timeouts).
//! * A host's survivors of a local death can see it twice: `PeerDied` from the local stage,
//!   then `HostDied` when the cluster generation they re-join breaks on the same death.
//! * A process declared dead by silence that was only slow (its beats failed for half the TTL
//!   while etcd took everyone else's) loses its member keys; its session declares itself lost
//!   only after a whole TTL, so in between its handle still counts itself a member and its next
//!   wait meets a barrier that no longer counts its host. The etcd-member-death test (writes
//!   stalled by an election) shows no false deaths, but a process starved of CPU for ~1 s could
//!   be one.
//! * Beats cost every process one etcd write per fifth of the TTL (5 writes/s per process at
//!   2 s), and a member waiting longer than a tenth of the TTL one read per tenth. In the
//!   worst case measured (cut off with the etcd leader) detection took 1.85 s of the 2 s TTL:
//!   the margin is the election time.
#![deny(unsafe_op_in_unsafe_fn)]

mod barrier;
mod config;
mod feed;
mod keys;
mod liveness;
pub mod recipe;
mod session;
mod split;
pub mod testkit;

pub use barrier::{ClusterBarrier, ClusterWait};
pub use config::{
    check_host_id, cluster_name, ClusterConfig, DEFAULT_LEASE_TTL, ENV_CLUSTER, ENV_CLUSTER_NAME, ENV_HOST_ID,
    ENV_LEASE_MS,
};
pub use session::Cluster;
pub use split::ClusterArrival;
