//! The etcd key layout of one cluster barrier, and a parsed snapshot of its keys.
//!
//! Under `/muster/<cluster name>/b/<barrier>/` (the barrier name with `%` and `/` escaped):
//!
//! | key | value | lease | written by |
//! | --- | --- | --- | --- |
//! | `m/<host>/<pid>.<lease>.<n>` | empty | the member process's | enroll; deleted by resign |
//! | `roster` | empty | none | put in the same transaction as every enroll and resign |
//! | `cur` | the generation now open (decimal) | none | the transaction that completes one |
//! | `h/<host>/at` | `<local generation> <generation>` | none | a host leader, with its arrival |
//! | `g/<generation:020>/a/<host>` | the host's carried value | none | a host leader |
//! | `g/<generation:020>/done` | `ok` or `dead <host> <pid>` | none | whoever decides first |
//!
//! A member key deleted in a revision that also puts `roster` left gracefully; any other delete
//! (lease expiry, a host peer reporting a local death, or the `dead` decision for a process whose
//! beat went silent) is a death. Beats live outside the barriers, at
//! `/muster/<cluster name>/beat/<host>/<pid>.<lease>` (a counter, bound to the process's lease).

use std::collections::BTreeMap;

use etcd_client::KeyValue;

/// Keys of one barrier.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    pub(crate) base: String,
}

/// How a generation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ok,
    Dead { host: String, pid: u32 },
}

impl Outcome {
    pub(crate) fn encode(&self) -> String {
        match self {
            Outcome::Ok => "ok".into(),
            Outcome::Dead { host, pid } => format!("dead {host} {pid}"),
        }
    }

    /// Values come from etcd, so from anyone: garbage reads as a death of "?" rather than a panic.
    pub(crate) fn decode(v: &[u8]) -> Outcome {
        let s = String::from_utf8_lossy(v);
        if s == "ok" {
            return Outcome::Ok;
        }
        let mut it = s.split(' ');
        match (it.next(), it.next(), it.next().and_then(|p| p.parse().ok())) {
            (Some("dead"), Some(h), Some(pid)) => Outcome::Dead { host: h.to_owned(), pid },
            _ => Outcome::Dead { host: "?".into(), pid: 0 },
        }
    }
}

fn escape(name: &str) -> String {
    name.replace('%', "%25").replace('/', "%2F")
}

impl Keys {
    pub(crate) fn new(prefix: &str, barrier: &str) -> Keys {
        Keys { base: format!("{prefix}b/{}/", escape(barrier)) }
    }
    pub(crate) fn members(&self) -> String {
        format!("{}m/", self.base)
    }
    pub(crate) fn member(&self, host: &str, pid: u32, lease: i64, n: u64) -> String {
        format!("{}m/{host}/{pid}.{lease:x}.{n}", self.base)
    }
    /// Prefix of every member key of process `pid` on `host`.
    pub(crate) fn process_members(&self, host: &str, pid: u32) -> String {
        format!("{}m/{host}/{pid}.", self.base)
    }
    pub(crate) fn roster(&self) -> String {
        format!("{}roster", self.base)
    }
    pub(crate) fn cur(&self) -> String {
        format!("{}cur", self.base)
    }
    pub(crate) fn at(&self, host: &str) -> String {
        format!("{}h/{host}/at", self.base)
    }
    pub(crate) fn generation(&self, g: u64) -> String {
        format!("{}g/{g:020}/", self.base)
    }
    pub(crate) fn arrival(&self, g: u64, host: &str) -> String {
        format!("{}a/{host}", self.generation(g))
    }
    pub(crate) fn done(&self, g: u64) -> String {
        format!("{}done", self.generation(g))
    }

    /// `(host, pid, lease)` of a member key, if `key` is one.
    pub(crate) fn parse_member_lease(&self, key: &[u8]) -> Option<(String, u32, i64)> {
        let (host, pid) = self.parse_member(key)?;
        let tail = std::str::from_utf8(key).ok()?.rsplit('/').next()?;
        let lease = i64::from_str_radix(tail.split('.').nth(1)?, 16).ok()?;
        Some((host, pid, lease))
    }

    /// `(host, pid)` of a member key, if `key` is one.
    pub(crate) fn parse_member(&self, key: &[u8]) -> Option<(String, u32)> {
        let key = std::str::from_utf8(key).ok()?;
        let rest = key.strip_prefix(&self.base)?.strip_prefix("m/")?;
        let (host, tail) = rest.split_once('/')?;
        let pid = tail.split('.').next()?.parse().ok()?;
        Some((host.to_owned(), pid))
    }
}

/// The barrier's keys at one revision.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub(crate) rev: i64,
    pub(crate) kvs: BTreeMap<String, Vec<u8>>,
    /// Modification revision of each key in `kvs`.
    pub(crate) mods: BTreeMap<String, i64>,
    pub(crate) roster_mod: i64,
    /// Creation revision of `cur` (0: absent).
    pub(crate) cur_created: i64,
}

impl Snapshot {
    pub(crate) fn new(rev: i64, kvs: &[KeyValue], keys: &Keys) -> Snapshot {
        let roster = keys.roster();
        let mut s = Snapshot { rev, ..Snapshot::default() };
        for kv in kvs {
            let k = String::from_utf8_lossy(kv.key()).into_owned();
            if k == roster {
                s.roster_mod = kv.mod_revision();
            }
            if k == keys.cur() {
                s.cur_created = kv.create_revision();
            }
            s.mods.insert(k.clone(), kv.mod_revision());
            s.kvs.insert(k, kv.value().to_vec());
        }
        s
    }

    /// The open generation (1 before the first completes).
    pub(crate) fn cur(&self, keys: &Keys) -> u64 {
        self.kvs.get(&keys.cur()).and_then(|v| std::str::from_utf8(v).ok()?.parse().ok()).unwrap_or(1)
    }

    /// Hosts that have at least one member.
    pub(crate) fn hosts(&self, keys: &Keys) -> Vec<String> {
        let mut hosts: Vec<String> = self
            .kvs
            .range(keys.members()..)
            .take_while(|(k, _)| k.starts_with(&keys.members()))
            .filter_map(|(k, _)| keys.parse_member(k.as_bytes()).map(|(h, _)| h))
            .collect();
        hosts.dedup();
        hosts
    }

    /// Hosts arrived at generation `g`, with their values.
    pub(crate) fn arrivals(&self, keys: &Keys, g: u64) -> BTreeMap<String, Vec<u8>> {
        let p = format!("{}a/", keys.generation(g));
        self.kvs
            .range(p.clone()..)
            .take_while(|(k, _)| k.starts_with(&p))
            .map(|(k, v)| (k[p.len()..].to_owned(), v.clone()))
            .collect()
    }

    /// The revision generation `g` opened at: when `done(g - 1)` was committed (or `cur` was
    /// created, for the first generation). Deaths after it belong to `g`.
    pub(crate) fn opened(&self, keys: &Keys, g: u64) -> Option<i64> {
        if g <= 1 {
            return (self.cur_created > 0).then_some(self.cur_created);
        }
        self.mods.get(&keys.done(g - 1)).copied()
    }

    pub(crate) fn done(&self, keys: &Keys, g: u64) -> Option<Outcome> {
        self.kvs.get(&keys.done(g)).map(|v| Outcome::decode(v))
    }

    /// The generation `host`'s leader arrived at for local generation `local`, if it has.
    pub(crate) fn at(&self, keys: &Keys, host: &str, local: u64) -> Option<u64> {
        let v = self.kvs.get(&keys.at(host))?;
        let s = std::str::from_utf8(v).ok()?;
        let (l, g) = s.split_once(' ')?;
        (l.parse::<u64>().ok()? == local).then_some(())?;
        g.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_round_trips() {
        let k = Keys::new("/muster/x/", "Phase 1/a%b");
        assert_eq!(k.base, "/muster/x/b/Phase 1%2Fa%25b/");
        let m = k.member("h-1", 42, 0xabc, 3);
        assert_eq!(k.parse_member(m.as_bytes()), Some(("h-1".into(), 42)));
        assert_eq!(k.parse_member_lease(m.as_bytes()), Some(("h-1".into(), 42, 0xabc)));
        assert!(m.starts_with(&k.process_members("h-1", 42)));
        assert!(!k.member("h-1", 421, 1, 0).starts_with(&k.process_members("h-1", 42)));
        assert_eq!(k.parse_member(k.roster().as_bytes()), None);
        for o in [Outcome::Ok, Outcome::Dead { host: "h".into(), pid: 7 }] {
            assert_eq!(Outcome::decode(o.encode().as_bytes()), o);
        }
        assert_eq!(Outcome::decode(b"\xffjunk"), Outcome::Dead { host: "?".into(), pid: 0 });
    }
}
