//! Least privilege: once the XDP program is attached, its maps open and
//! the socket bound, the daemon needs no capability at all. It drops every
//! one (effective, permitted, inheritable, ambient and the bounding set),
//! sets no-new-privileges and, when configured, switches to an unprivileged
//! user, handing it the state directory first.
//!
//! This must run before the daemon starts any thread: credentials and
//! capabilities are per thread on Linux, and only the caller's are changed
//! by the capability calls.

use std::path::Path;

use caps::{CapSet, Capability};
use nix::unistd::{Gid, Group, Uid, User, chown, setgid, setgroups, setuid};
use thiserror::Error;

/// Why privileges could not be resolved or dropped.
#[derive(Debug, Error)]
pub enum PrivilegeError {
    /// No such user.
    #[error("no such user: {0}")]
    NoUser(String),
    /// No such group.
    #[error("no such group: {0}")]
    NoGroup(String),
    /// A system call failed.
    #[error("{what}")]
    Call {
        /// What was being done.
        what: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

fn call(what: impl Into<String>) -> impl FnOnce(nix::Error) -> PrivilegeError {
    let what = what.into();
    move |e| PrivilegeError::Call {
        what,
        source: std::io::Error::from(e),
    }
}

/// A user to run as: its uid and primary gid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunAs {
    /// User id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
}

/// Resolves a user name or numeric uid.
pub fn resolve_user(name: &str) -> Result<RunAs, PrivilegeError> {
    let user = match name.parse::<u32>() {
        Ok(uid) => User::from_uid(Uid::from_raw(uid)),
        Err(_) => User::from_name(name),
    }
    .map_err(call(format!("looking up user {name}")))?;
    match (user, name.parse::<u32>()) {
        (Some(u), _) => Ok(RunAs {
            uid: u.uid.as_raw(),
            gid: u.gid.as_raw(),
        }),
        // A numeric uid without a passwd entry runs with the same gid.
        (None, Ok(uid)) => Ok(RunAs { uid, gid: uid }),
        (None, Err(_)) => Err(PrivilegeError::NoUser(name.to_owned())),
    }
}

/// Resolves a group name or numeric gid.
pub fn resolve_group(name: &str) -> Result<u32, PrivilegeError> {
    if let Ok(gid) = name.parse::<u32>() {
        return Ok(gid);
    }
    Group::from_name(name)
        .map_err(call(format!("looking up group {name}")))?
        .map(|g| g.gid.as_raw())
        .ok_or_else(|| PrivilegeError::NoGroup(name.to_owned()))
}

/// Gives `path` (a directory and the files directly in it) to `who`.
pub fn hand_over(path: &Path, who: RunAs) -> Result<(), PrivilegeError> {
    let (uid, gid) = (Some(Uid::from_raw(who.uid)), Some(Gid::from_raw(who.gid)));
    chown(path, uid, gid).map_err(call(format!(
        "giving {} to uid {}",
        path.display(),
        who.uid
    )))?;
    if let Ok(entries) = std::fs::read_dir(path) {
        for entry in entries.flatten() {
            let p = entry.path();
            chown(&p, uid, gid).map_err(call(format!(
                "giving {} to uid {}",
                p.display(),
                who.uid
            )))?;
        }
    }
    Ok(())
}

/// Sets `path`'s group to `gid` and its mode to 0660 (owner root).
pub fn share_with_group(path: &Path, gid: u32) -> Result<(), PrivilegeError> {
    use std::os::unix::fs::PermissionsExt;
    chown(path, Some(Uid::from_raw(0)), Some(Gid::from_raw(gid)))
        .map_err(call(format!("giving {} to group {gid}", path.display())))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660)).map_err(|source| {
        PrivilegeError::Call {
            what: format!("making {} group-writable", path.display()),
            source,
        }
    })
}

/// Drops every capability and, with `run_as`, switches user. Call before
/// any thread is started.
pub fn drop_all(run_as: Option<RunAs>) -> Result<(), PrivilegeError> {
    let caps_err = |what: &str| {
        let what = what.to_owned();
        move |e: caps::errors::CapsError| PrivilegeError::Call {
            what,
            source: std::io::Error::other(e.to_string()),
        }
    };
    // The bounding set first: dropping from it needs CAP_SETPCAP.
    for cap in caps::all() {
        if caps::has_cap(None, CapSet::Bounding, cap).unwrap_or(false) {
            caps::drop(None, CapSet::Bounding, cap)
                .map_err(caps_err("dropping the bounding set"))?;
        }
    }
    if let Some(who) = run_as {
        setgroups(&[]).map_err(call("clearing supplementary groups"))?;
        setgid(Gid::from_raw(who.gid)).map_err(call(format!("switching to gid {}", who.gid)))?;
        setuid(Uid::from_raw(who.uid)).map_err(call(format!("switching to uid {}", who.uid)))?;
    }
    for set in [
        CapSet::Ambient,
        CapSet::Inheritable,
        CapSet::Effective,
        CapSet::Permitted,
    ] {
        caps::clear(None, set).map_err(caps_err("clearing capabilities"))?;
    }
    // SAFETY: prctl with PR_SET_NO_NEW_PRIVS and constant arguments.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
        return Err(PrivilegeError::Call {
            what: "setting no-new-privileges".into(),
            source: std::io::Error::last_os_error(),
        });
    }
    Ok(())
}

/// Capabilities the current thread still holds (for the log line).
pub fn remaining() -> Vec<Capability> {
    caps::read(None, CapSet::Effective)
        .map(|set| set.into_iter().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_and_groups_resolve_by_name_or_number() {
        assert_eq!(
            resolve_user("root").expect("root"),
            RunAs { uid: 0, gid: 0 }
        );
        assert_eq!(
            resolve_user("4242").expect("numeric"),
            RunAs {
                uid: 4242,
                gid: 4242
            }
        );
        assert!(matches!(
            resolve_user("no-such-user-x"),
            Err(PrivilegeError::NoUser(_))
        ));
        assert_eq!(resolve_group("4243").expect("numeric"), 4243);
        assert_eq!(resolve_group("root").expect("root"), 0);
        assert!(matches!(
            resolve_group("no-such-group-x"),
            Err(PrivilegeError::NoGroup(_))
        ));
    }
}
