//! HOOK — alting barriers. NOT MEASURED YET: nothing here produces numbers.
//!
//! Muster's alting barriers (a party may offer the barrier as one guard among several in an
//! alternation and commit to it only if every party is ready) have not landed in the `muster`
//! crate yet. When they do, this module should measure, for N = 2, 4, 8 parties in separate
//! processes:
//!
//! 1. **Goldsmith events/s** — the "alting barrier" stress test of Peter Welch and Matt Pedersen /
//!    Goldsmith-style benchmark: every process loops alting over its barriers (e.g. each process
//!    is enrolled on two barriers, left and right neighbour, in a ring) and the harness counts
//!    completed barrier events per second across the run.
//! 2. **Alting `sync` cost** — ns per completed event when every party offers only this one
//!    barrier (compare with the plain barrier's ns/episode at the same N).
//!
//! Wire-up plan: add `System::Alting`-style entries or a separate `--alting` section in `main.rs`,
//! reuse `worker::run_episodes` with an `EpisodeBarrier` whose `wait` performs one alt + commit,
//! and add rows to the report (`report::alting_section`). Until then the report and the JSON say
//! "pending" — do not fill these rows with plain-barrier numbers.

/// The party counts the alting measurement will use.
pub const PARTIES: [usize; 3] = [2, 4, 8];

/// Why there are no alting numbers in this run.
pub fn status() -> String {
    format!(
        "pending: Muster's alting API has not landed; Goldsmith events/s and alting sync cost (N = {PARTIES:?}) not measured"
    )
}
