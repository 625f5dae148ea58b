//! `dnsrare install`: puts the binary, a sandboxed systemd unit and a
//! commented default configuration in place, and creates the `dnsrare`
//! system user the service switches to. `--root DIR` installs under another
//! root (a package build, a test) and then creates no user.

use std::{
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Command,
};

use thiserror::Error;

/// The systemd unit.
pub const UNIT: &str = include_str!("../data/dnsrare.service");
/// The commented default configuration.
pub const CONFIG: &str = include_str!("../data/dnsrare.toml");
/// Where each installed file goes, relative to the root.
const BINARY: &str = "usr/local/bin/dnsrare";
const UNIT_PATH: &str = "etc/systemd/system/dnsrare.service";
const CONFIG_PATH: &str = "etc/dnsrare/dnsrare.toml";
/// The user the service runs as once attached.
pub const SERVICE_USER: &str = "dnsrare";

/// Why installing failed.
#[derive(Debug, Error)]
pub enum InstallError {
    /// Writing a file failed.
    #[error("cannot install {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Creating the service user failed.
    #[error("cannot create the system user {SERVICE_USER}: {0}")]
    User(String),
}

/// What was installed.
#[derive(Debug, Default)]
pub struct Installed {
    /// Files written.
    pub written: Vec<PathBuf>,
    /// Files left as they were (an existing configuration).
    pub kept: Vec<PathBuf>,
    /// Whether the service user was created.
    pub created_user: bool,
}

/// Installs under `root` ("/" for the real system).
pub fn install(root: &Path) -> Result<Installed, InstallError> {
    let mut done = Installed::default();
    let exe = std::env::current_exe().map_err(|source| InstallError::Write {
        path: PathBuf::from(BINARY),
        source,
    })?;
    let binary = root.join(BINARY);
    write_with(&binary, 0o755, |p| std::fs::copy(&exe, p).map(drop))?;
    done.written.push(binary);
    let unit = root.join(UNIT_PATH);
    write_with(&unit, 0o644, |p| std::fs::write(p, UNIT))?;
    done.written.push(unit);
    let config = root.join(CONFIG_PATH);
    if config.exists() {
        done.kept.push(config);
    } else {
        write_with(&config, 0o644, |p| std::fs::write(p, CONFIG))?;
        done.written.push(config);
    }
    if root == Path::new("/")
        && nix::unistd::User::from_name(SERVICE_USER)
            .ok()
            .flatten()
            .is_none()
    {
        let out = Command::new("useradd")
            .args(["--system", "--no-create-home", "--user-group"])
            .args(["--shell", "/usr/sbin/nologin", SERVICE_USER])
            .output()
            .map_err(|e| InstallError::User(e.to_string()))?;
        if !out.status.success() {
            return Err(InstallError::User(
                String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            ));
        }
        done.created_user = true;
    }
    Ok(done)
}

fn write_with(
    path: &Path,
    mode: u32,
    write: impl FnOnce(&Path) -> std::io::Result<()>,
) -> Result<(), InstallError> {
    let err = |source| InstallError::Write {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    // Write beside and rename, so a running binary is never half-written.
    let tmp = path.with_extension("dnsrare-new");
    write(&tmp).map_err(err)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode)).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}
