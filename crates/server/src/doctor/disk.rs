//! Free space on the disks holding the database and the backups.

use std::path::Path;

use super::{Check, Outcome};

/// Free and total bytes of a filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// Bytes an ordinary program may still write.
    pub available: u64,
    /// The filesystem's size.
    pub total: u64,
}

const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
/// Below this (or 10% of the disk), a WARN.
pub const WARN_BELOW: u64 = GIB;
/// Below this, a FAIL: pushes may be refused any moment.
pub const FAIL_BELOW: u64 = 100 * MIB;

/// The free-space check of the disk holding `what` (the database, the
/// backups) at `path`.
pub fn disk_check(what: &str, path: &Path, space: std::io::Result<Space>) -> Check {
    let space = match space {
        Ok(s) => s,
        Err(e) => {
            return Check::not_ok(
                "disk",
                Outcome::Warn,
                format!("cannot tell the free space for {what} at {} ({e})", path.display()),
                "Check the disk in the computer's file manager",
            );
        }
    };
    let free = format_bytes(space.available);
    let percent = space
        .available
        .saturating_mul(100)
        .checked_div(space.total)
        .unwrap_or(0);
    let finding = format!(
        "{free} free ({percent}% of {}) on the disk holding {what} ({})",
        format_bytes(space.total),
        path.display()
    );
    let free_up =
        "Free space on that disk (delete or move old files, empty the recycle bin) or move the folder to a larger disk";
    if space.available < FAIL_BELOW {
        Check::not_ok(
            "disk",
            Outcome::Fail,
            finding,
            format!("{free_up}: when it is full, tablets cannot send their work (they keep it and try again)"),
        )
    } else if space.available < WARN_BELOW || percent < 10 {
        Check::not_ok("disk", Outcome::Warn, finding, format!("{free_up} soon"))
    } else {
        Check::ok("disk", finding)
    }
}

/// The free space of the filesystem holding `path` (or its nearest
/// existing folder, for a file not made yet).
pub fn free_space(path: &Path) -> std::io::Result<Space> {
    let mut at = path;
    while !at.exists() {
        match at.parent() {
            Some(p) if !p.as_os_str().is_empty() => at = p,
            _ => {
                at = Path::new(".");
                break;
            }
        }
    }
    statvfs(at)
}

#[cfg(unix)]
fn statvfs(path: &Path) -> std::io::Result<Space> {
    let s = rustix::fs::statvfs(path).map_err(std::io::Error::from)?;
    Ok(Space {
        available: s.f_bavail.saturating_mul(s.f_frsize),
        total: s.f_blocks.saturating_mul(s.f_frsize),
    })
}

#[cfg(not(unix))]
fn statvfs(_path: &Path) -> std::io::Result<Space> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "not measured on this system",
    ))
}

fn format_bytes(n: u64) -> String {
    if n >= GIB {
        format!("{:.1} GiB", n as f64 / GIB as f64)
    } else {
        format!("{} MiB", n / MIB)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn disk_space_thresholds() {
        let p = Path::new("/srv/doorstep/office.db");
        let check = |available, total| disk_check("the database", p, Ok(Space { available, total })).outcome;
        assert_eq!(check(50 * GIB, 100 * GIB), Outcome::Ok);
        assert_eq!(check(5 * GIB, 100 * GIB), Outcome::Warn, "under 10%");
        assert_eq!(check(900 * MIB, 4 * GIB), Outcome::Warn, "under 1 GiB");
        assert_eq!(check(99 * MIB, 100 * GIB), Outcome::Fail);
        let full = disk_check(
            "the database",
            p,
            Ok(Space {
                available: 0,
                total: GIB,
            }),
        );
        assert!(
            full.line().contains("tablets cannot send their work"),
            "{}",
            full.line()
        );
        let unknown = disk_check("the database", p, Err(std::io::Error::other("no statvfs")));
        assert_eq!(unknown.outcome, Outcome::Warn);
    }
}
