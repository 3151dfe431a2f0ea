//! Removing regions without pulling them from under live processes: `muster rm` and
//! `muster clean`.
//!
//! ## Protocol
//! A remover opens the region's lock sidecar read-write and takes one `F_OFD_SETLK` write lock
//! over the whole file (`liveness::try_lock_all`). That fails if any process holds a liveness
//! token, i.e. is attached or in the middle of attaching (attachers lock their byte *before* they
//! touch the process table), so a live region is never removed. While the lock is held nobody can
//! take a token, so nobody can finish attaching; the remover unlinks the region file, then the
//! sidecar (only if the path still names the inode it locked), then closes the lock.
//!
//! An opener that opened the region file just before the unlink takes its token on the old
//! sidecar (after the remover let go) or on a new one (after the sidecar's unlink), and then
//! finds that the paths no longer name the files it holds: [`Region::open`](crate::Region::open) checks this after
//! taking its token and starts over by name (`NotFound`, or a region created since). So a race
//! with an opener ends either with the region left alone or with the opener not attached to the
//! removed file.
//!
//! A creator locks a byte of the sidecar beyond every process slot from before it publishes the
//! region until it is attached (`Region::create`), so a region that is being created, and has
//! no process yet, is never taken for stale.
//!
//! The remover checks, once locked, that the sidecar path still names the file it locked (else
//! the sidecar was removed, and perhaps the region replaced, meanwhile: it looks again).
//!
//! Without a sidecar (someone deleted it) no token can be checked: the recorded pids decide
//! ([`crate::inspect::Liveness::PidsOnly`]); then the remover makes a sidecar (`O_EXCL`; if an
//! opener made one first, its tokens decide) and removes under its lock as above.
//!
//! ## What `clean` removes
//! * stale regions: Muster files (magic checked) with no live token, whatever their content
//!   (corrupt, truncated, other layout versions: liveness does not depend on parsing them);
//! * orphaned sidecars `.NAME.muster-lock` whose region is gone and on which no token is held,
//!   unless a live creator's temporary file for `NAME` exists (a creation in progress makes the
//!   sidecar just before publishing the region);
//! * temporary files `.NAME.PID.N.tmp` of interrupted creations whose PID no longer exists.
//!
//! Files of other users that we cannot open are skipped, never an error.

use crate::error::{Error, Result};
use crate::inspect::{self, open_sidecar};
use crate::region::same_file;
use crate::{liveness, mapping, name};
use std::path::{Path, PathBuf};

/// Outcome of [`remove`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Removal {
    /// The region (and its sidecar) are gone.
    Removed,
    /// Live processes use it (their pids, as far as the process table tells; empty if a process
    /// is attaching right now or the file cannot be read); nothing was removed.
    InUse(Vec<u32>),
}

/// What [`clean`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CleanKind {
    /// A region no live process uses.
    StaleRegion,
    /// A sidecar without its region.
    OrphanSidecar,
    /// A temporary file of an interrupted creation.
    TempFile,
}

/// One file [`clean`] removed (or, dry run, would remove).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cleaned {
    /// What it is.
    pub kind: CleanKind,
    /// The region name it belongs to.
    pub name: String,
    /// The file.
    pub path: PathBuf,
    /// Whether it was removed (false in a dry run, or for a region a process attached to between
    /// the look and the removal's lock).
    pub removed: bool,
}

fn remove_path(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::from_open(e)),
        _ => Ok(()),
    }
}

/// Whether `name` is a Muster region file (magic) or at least has a Muster sidecar.
fn is_muster(name: &str) -> Result<bool> {
    let region = mapping::region_path(name);
    if region.symlink_metadata().is_err() {
        return Err(Error::NotFound);
    }
    let mut f = mapping::open_file(&region, libc::O_RDONLY, 0).map_err(Error::from_open)?;
    let mut magic = [0u8; 8];
    let ok = std::io::Read::read_exact(&mut f, &mut magic).is_ok() && u64::from_le_bytes(magic) == crate::layout::MAGIC;
    Ok(ok || mapping::lock_path(name).symlink_metadata().is_ok())
}

/// Removes region `name` and its sidecar unless a live process uses it (see the module docs).
/// With `force`, removes them regardless (attached processes keep their mappings). Files that do
/// not look like Muster regions are refused with [`Error::InvalidArgument`].
pub fn remove(name: &str, force: bool) -> Result<Removal> {
    name::check_region_name(name)?;
    if !is_muster(name)? {
        return Err(Error::InvalidArgument("not a Muster region (no Muster magic, no Muster sidecar)"));
    }
    if force {
        remove_path(&mapping::region_path(name))?;
        remove_path(&mapping::lock_path(name))?;
        return Ok(Removal::Removed);
    }
    remove_unused(name)
}

fn live_pids(name: &str) -> Vec<u32> {
    inspect::inspect(name).map(|s| s.live_pids()).unwrap_or_default()
}

/// The locked removal of the module docs.
fn remove_unused(name: &str) -> Result<Removal> {
    let lock_path = mapping::lock_path(name);
    for _ in 0..REMOVE_ATTEMPTS {
        let lock = match mapping::open_file(&lock_path, libc::O_RDWR, 0) {
            Ok(f) => f,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                // No sidecar: the recorded pids decide (a process attached before the sidecar
                // was deleted holds its token on the deleted file). Then we make a sidecar and
                // lock it, so that nobody can attach while we remove.
                match inspect::inspect(name) {
                    Ok(s) if s.any_alive => return Ok(Removal::InUse(s.live_pids())),
                    Ok(_) | Err(Error::Corrupt(_)) | Err(Error::Version { .. }) => {}
                    Err(e) => return Err(e),
                }
                match mapping::open_file(&lock_path, libc::O_RDWR | libc::O_CREAT | libc::O_EXCL, 0o600) {
                    Ok(f) => f,
                    // An opener made one meanwhile: judge by its tokens.
                    Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
                    Err(e) => return Err(Error::from_open(e)),
                }
            }
            Err(e) => return Err(Error::from_open(e)),
        };
        if !liveness::try_lock_all(&lock).map_err(Error::Io)? {
            return Ok(Removal::InUse(live_pids(name)));
        }
        if !same_file(&lock, &lock_path) {
            // The sidecar was removed (and maybe the region replaced) before we locked it: what
            // the path names now is not what we locked. Look again.
            continue;
        }
        // Locked, and still the region's sidecar: no process is attached or attaching (every
        // attacher and creator locks this file first), and none can until we let go.
        remove_path(&mapping::region_path(name))?;
        remove_path(&lock_path)?;
        drop(lock);
        return Ok(Removal::Removed);
    }
    Ok(Removal::InUse(live_pids(name)))
}

/// Rounds of [`remove_unused`] when the sidecar is replaced under it.
const REMOVE_ATTEMPTS: u32 = 4;

/// Parses `.NAME.PID.N.tmp` (the temporary file of `Region::create`).
fn parse_tmp(file: &str) -> Option<(&str, u32)> {
    let rest = file.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (rest, n) = rest.rsplit_once('.')?;
    n.parse::<u64>().ok()?;
    let (name, pid) = rest.rsplit_once('.')?;
    Some((name, pid.parse().ok()?))
}

/// Removes (or with `dry_run`, lists) stale regions, orphaned sidecars and leftover temporary
/// files in `/dev/shm` (see the module docs), only of regions whose names start with `prefix`
/// if given. Never removes a region a live process uses.
pub fn clean(dry_run: bool, prefix: Option<&str>) -> Result<Vec<Cleaned>> {
    // The region a file in /dev/shm belongs to (itself, its sidecar, or its temporary).
    let region_of = |f: &str| -> String {
        match parse_tmp(f) {
            Some((n, _)) => n,
            None => f.strip_prefix('.').and_then(|r| r.strip_suffix(".muster-lock")).unwrap_or(f),
        }
        .to_owned()
    };
    let mut files: Vec<String> = std::fs::read_dir(mapping::SHM_DIR)
        .map_err(Error::Io)?
        .filter_map(|e| e.ok()?.file_name().to_str().map(str::to_owned))
        .filter(|f| prefix.is_none_or(|p| region_of(f).starts_with(p)))
        .collect();
    files.sort();
    let live_tmp = |region: &str| {
        files.iter().filter_map(|f| parse_tmp(f)).any(|(n, pid)| n == region && liveness::pid_exists(pid))
    };
    let mut out = Vec::new();
    for f in &files {
        if let Some((region, pid)) = parse_tmp(f) {
            if name::check_region_name(region).is_ok() && !liveness::pid_exists(pid) {
                let path = PathBuf::from(mapping::SHM_DIR).join(f);
                // Another user's leftovers cannot be removed (sticky /dev/shm): not ours, skipped.
                if dry_run || std::fs::remove_file(&path).is_ok() {
                    out.push(Cleaned { kind: CleanKind::TempFile, name: region.to_owned(), path, removed: !dry_run });
                }
            }
        } else if let Some(region) = f.strip_prefix('.').and_then(|r| r.strip_suffix(".muster-lock")) {
            if name::check_region_name(region).is_err() || mapping::region_path(region).symlink_metadata().is_ok() {
                continue;
            }
            if live_tmp(region) {
                continue;
            }
            if let Some(removed) = clean_sidecar(region, dry_run)? {
                out.push(Cleaned {
                    kind: CleanKind::OrphanSidecar,
                    name: region.to_owned(),
                    path: mapping::lock_path(region),
                    removed,
                });
            }
        } else if name::check_region_name(f).is_ok() && matches!(is_muster(f), Ok(true)) {
            let stale = match open_sidecar(f) {
                Ok(Some(s)) => !liveness::any_held(&s).unwrap_or(true),
                Ok(None) => inspect::inspect(f).map_or(true, |s| s.stale()),
                Err(_) => false, // another user's sidecar: not ours to judge
            };
            if !stale {
                continue;
            }
            let removed = match dry_run {
                true => false,
                false => match remove_unused(f) {
                    Ok(Removal::Removed) => true,
                    // A process attached between our look and our lock: kept, and said so.
                    Ok(Removal::InUse(_)) => false,
                    // Not ours to remove (another user's sidecar or file): skipped.
                    Err(_) => continue,
                },
            };
            out.push(Cleaned { kind: CleanKind::StaleRegion, name: f.clone(), path: mapping::region_path(f), removed });
        }
    }
    Ok(out)
}

/// Removes an orphaned sidecar on which no token is held. `None`: not removable (in use, or
/// the region reappeared).
fn clean_sidecar(region: &str, dry_run: bool) -> Result<Option<bool>> {
    let path = mapping::lock_path(region);
    let Ok(f) = mapping::open_file(&path, libc::O_RDWR, 0) else { return Ok(None) };
    if dry_run {
        return Ok((!liveness::any_held(&f).unwrap_or(true)).then_some(false));
    }
    if !liveness::try_lock_all(&f).map_err(Error::Io)? {
        return Ok(None);
    }
    if mapping::region_path(region).symlink_metadata().is_ok() || !same_file(&f, &path) {
        return Ok(None);
    }
    remove_path(&path)?;
    Ok(Some(true))
}

#[cfg(test)]
mod tests {
    use super::parse_tmp;

    #[test]
    fn temp_names() {
        assert_eq!(parse_tmp(".my-app.1234.0.tmp"), Some(("my-app", 1234)));
        assert_eq!(parse_tmp(".a.b.77.3.tmp"), Some(("a.b", 77)));
        assert_eq!(parse_tmp(".my-app.muster-lock"), None);
        assert_eq!(parse_tmp(".x.y.tmp"), None);
        assert_eq!(parse_tmp("plain"), None);
    }
}
