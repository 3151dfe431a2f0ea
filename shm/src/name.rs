//! Name rules.
//!
//! * Region names: 1..=64 bytes of `[A-Za-z0-9._-]`, not starting with `.` (they become file names
//!   under `/dev/shm`; the leading-dot rule keeps them apart from sidecar files and `..`).
//! * Barrier names: 1..=64 bytes of UTF-8 without control characters (so `"Phase 1"` works). They
//!   live in the region's name table.

use crate::error::{Error, Result};

/// Longest region or barrier name, in bytes.
pub const MAX_NAME: usize = 64;

/// Checks a region name.
pub fn check_region_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(Error::InvalidName(format!("region name must be 1..={MAX_NAME} bytes, got {}", name.len())));
    }
    if name.starts_with('.') {
        return Err(Error::InvalidName("region name must not start with '.'".into()));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        return Err(Error::InvalidName(format!("region name may contain only [A-Za-z0-9._-], found {c:?}")));
    }
    Ok(())
}

/// Checks a barrier name.
pub fn check_object_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(Error::InvalidName(format!("barrier name must be 1..={MAX_NAME} bytes, got {}", name.len())));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::InvalidName("barrier name must not contain control characters".into()));
    }
    Ok(())
}

/// FNV-1a, the name table's hash (stable across processes and builds).
pub fn hash(name: &[u8]) -> u64 {
    name.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_names() {
        for ok in ["a", "muster-1", "A.b_c-9", &"x".repeat(64)] {
            assert!(check_region_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".hidden", "a/b", "..", "a b", "é", &"x".repeat(65), "a\0b"] {
            assert!(matches!(check_region_name(bad), Err(Error::InvalidName(_))), "{bad:?}");
        }
    }

    #[test]
    fn object_names() {
        for ok in ["Phase 1", "ü-bahn", "a", &"x".repeat(64)] {
            assert!(check_object_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a\nb", "tab\t", &"x".repeat(65)] {
            assert!(matches!(check_object_name(bad), Err(Error::InvalidName(_))), "{bad:?}");
        }
    }
}
