//! The daemon's configuration file (`/etc/dnsrare/dnsrare.toml`, or
//! `--config FILE`): every flag of `dnsrare run` as a TOML key of the same
//! name (`max-memory = "1GiB"`, `iface = ["eth1", "eth2"]`). Flags given on
//! the command line override the file. Each value goes through the same
//! parser as its flag, and an unknown key or a bad value is an error naming
//! the file, the line and the key, before anything is loaded or attached.
//!
//! The file is turned into flags placed before the command line's, and the
//! whole is parsed once more by clap: one definition of every setting.

use std::{
    ffi::{OsStr, OsString},
    path::{Path, PathBuf},
};

use clap::CommandFactory;
use thiserror::Error;
use toml::de::{DeTable, DeValue};

use super::flags::Cli;

/// Where the daemon looks for its configuration when `--config` is not
/// given; a missing file there is not an error.
pub const DEFAULT_CONFIG: &str = "/etc/dnsrare/dnsrare.toml";

/// Why the configuration file cannot be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read the configuration {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML.
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message (it names the line).
        message: String,
    },
    /// A key that is not a flag of `dnsrare run`, or a bad value.
    #[error("{path}:{line}: {key}: {message}")]
    Key {
        /// The file.
        path: PathBuf,
        /// 1-based line of the key.
        line: usize,
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// The `dnsrare run` flags a file may set: every long flag of the command
/// but `--config` itself, `--help` and `--version`.
fn run_flags() -> Vec<(String, bool)> {
    let cmd = Cli::command();
    let run = cmd.find_subcommand("run").expect("`run` is a subcommand");
    run.get_arguments()
        .filter_map(|a| {
            let long = a.get_long()?;
            let many = matches!(a.get_action(), clap::ArgAction::Append);
            (!matches!(long, "config" | "help" | "version")).then(|| (long.to_owned(), many))
        })
        .collect()
}

/// If `args` is a `dnsrare run` command line and a configuration file
/// applies (`--config FILE`, or [`DEFAULT_CONFIG`] when it exists), returns
/// the command line with the file's settings placed before its own
/// flags; otherwise returns `args` as they are.
pub fn apply(args: Vec<OsString>) -> Result<Vec<OsString>, ConfigError> {
    if args.get(1).map(OsString::as_os_str) != Some(OsStr::new("run")) {
        return Ok(args);
    }
    let explicit = config_flag(&args);
    let path = match &explicit {
        Some(p) => p.clone(),
        None if Path::new(DEFAULT_CONFIG).exists() => PathBuf::from(DEFAULT_CONFIG),
        None => return Ok(args),
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let from_file = file_flags(&path, &text, &args[2..])?;
    let mut merged = Vec::with_capacity(args.len() + from_file.len());
    merged.extend_from_slice(&args[..2]);
    merged.extend(from_file);
    merged.extend_from_slice(&args[2..]);
    Ok(merged)
}

/// The value of `--config` on the command line, if any.
fn config_flag(args: &[OsString]) -> Option<PathBuf> {
    let mut it = args.iter().skip(2);
    while let Some(a) = it.next() {
        let s = a.to_string_lossy();
        if s == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(v) = s.strip_prefix("--config=") {
            return Some(PathBuf::from(v));
        }
    }
    None
}

/// Whether the command line `args` sets `--flag`.
fn on_command_line(args: &[OsString], flag: &str) -> bool {
    let long = format!("--{flag}");
    args.iter().any(|a| {
        let s = a.to_string_lossy();
        s == long || s.starts_with(&format!("{long}="))
    })
}

/// The flags `text` (from `path`) sets, validated one key at a time, minus
/// those the command line `own` sets itself.
fn file_flags(path: &Path, text: &str, own: &[OsString]) -> Result<Vec<OsString>, ConfigError> {
    let table = DeTable::parse(text).map_err(|e| ConfigError::Syntax {
        path: path.to_owned(),
        message: e.to_string().trim().to_owned(),
    })?;
    let known = run_flags();
    let mut out = Vec::new();
    for (key, value) in table.get_ref() {
        let line = text[..key.span().start].matches('\n').count() + 1;
        let name = key.get_ref().as_ref();
        let err = |message: String| ConfigError::Key {
            path: path.to_owned(),
            line,
            key: name.to_owned(),
            message,
        };
        let Some((_, many)) = known.iter().find(|(flag, _)| flag == name) else {
            let mut names: Vec<&str> = known.iter().map(|(f, _)| f.as_str()).collect();
            names.sort_unstable();
            return Err(err(format!("unknown key (known: {})", names.join(", "))));
        };
        let values: Vec<String> = match value.get_ref() {
            DeValue::Array(items) if *many => items
                .iter()
                .map(|v| scalar(v.get_ref()))
                .collect::<Result<_, _>>()
                .map_err(err)?,
            DeValue::Array(_) => return Err(err("takes one value, not a list".into())),
            v => vec![scalar(v).map_err(err)?],
        };
        if on_command_line(own, name) {
            continue;
        }
        let flags: Vec<OsString> = values
            .iter()
            .flat_map(|v| [OsString::from(format!("--{name}")), OsString::from(v)])
            .collect();
        // The flag's own parser judges the value.
        let mut probe = vec![OsString::from("dnsrare"), OsString::from("run")];
        probe.extend(flags.iter().cloned());
        if let Err(e) = Cli::try_parse_from_args(probe) {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            return Err(err(first.trim_start_matches("error: ").to_owned()));
        }
        out.extend(flags);
    }
    Ok(out)
}

/// A TOML scalar as a flag's text.
fn scalar(v: &DeValue<'_>) -> Result<String, String> {
    match v {
        DeValue::String(s) => Ok(s.as_ref().to_owned()),
        DeValue::Integer(i) if i.radix() == 10 => Ok(i.as_str().replace('_', "")),
        DeValue::Integer(i) => {
            let digits = i.as_str().replace('_', "");
            let digits = digits
                .trim_start_matches("0x")
                .trim_start_matches("0o")
                .trim_start_matches("0b");
            i64::from_str_radix(digits, i.radix())
                .map(|n| n.to_string())
                .map_err(|e| e.to_string())
        }
        DeValue::Float(f) => Ok(f.as_str().to_owned()),
        DeValue::Boolean(b) => Ok(b.to_string()),
        other => Err(format!("a {} is not a valid value here", other.type_str())),
    }
}

impl Cli {
    /// `try_parse_from`, for the configuration check.
    fn try_parse_from_args(args: Vec<OsString>) -> Result<Self, clap::Error> {
        <Self as clap::Parser>::try_parse_from(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn with_file(text: &str, cmdline: &[&str]) -> Result<Vec<String>, ConfigError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("dnsrare.toml");
        std::fs::write(&path, text).expect("write");
        let mut all = vec!["dnsrare", "run", "--config", path.to_str().expect("utf-8")];
        all.extend_from_slice(cmdline);
        apply(args(&all)).map(|v| {
            v.into_iter()
                .map(|a| a.to_string_lossy().into_owned())
                .filter(|a| !a.contains("dnsrare.toml"))
                .collect()
        })
    }

    #[test]
    fn file_values_become_flags_before_the_command_line() {
        let merged = with_file(
            "# a comment\niface = [\"eth1\", \"eth2\"]\nmax-memory = \"64MiB\"\nshards = 2\nsnapshot-interval = 0x1e\n",
            &["--shards", "4"],
        )
        .expect("valid");
        assert_eq!(
            merged,
            [
                "dnsrare",
                "run",
                "--iface",
                "eth1",
                "--iface",
                "eth2",
                "--max-memory",
                "64MiB",
                "--snapshot-interval",
                "30",
                "--config",
                "--shards",
                "4"
            ]
        );
    }

    #[test]
    fn no_egress_is_a_boolean_key() {
        let args: Vec<String> = with_file("no-egress = true\n", &["--iface", "eth1"])
            .expect("valid")
            .into_iter()
            .filter(|a| a != "--config")
            .collect();
        let cli = <Cli as clap::Parser>::try_parse_from(&args).expect("parses");
        let super::super::flags::Command::Run(run) = cli.command else {
            panic!("a run command: {args:?}");
        };
        assert!(run.no_egress);
        assert!(with_file("no-egress = \"sometimes\"\n", &[]).is_err());
    }

    #[test]
    fn command_line_lists_replace_the_file_lists() {
        let merged = with_file("iface = [\"eth1\"]\n", &["--iface", "eth9"]).expect("valid");
        assert!(!merged.contains(&"eth1".to_owned()));
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_line_and_key() {
        let err = with_file("shards = 2\n\nifac = \"eth1\"\n", &[]).expect_err("unknown");
        let text = err.to_string();
        assert!(text.ends_with(":3: ifac: unknown key (known: allow, allow-suffix, deny, dynamic-dns, export, export-credentials, export-spool-max, export-window, fold-names, iface, ip-lookup, learn, max-memory, metrics, mode, no-egress, ring-kib, sensor, shards, sinkholes, snapshot-interval, socket, socket-group, state-dir, user, watch)"), "{text}");

        let err = with_file("iface = \"eth1\"\nmax-memory = \"lots\"\n", &[]).expect_err("bad");
        let text = err.to_string();
        assert!(
            text.contains(":2: max-memory: invalid value 'lots'"),
            "{text}"
        );

        let err = with_file("mode = \"bridge\"\n", &[]).expect_err("bad");
        assert!(
            err.to_string().contains(":1: mode: invalid value 'bridge'"),
            "{err}"
        );

        let err = with_file("socket = [\"a\", \"b\"]\n", &[]).expect_err("one value");
        assert!(
            err.to_string().contains(":1: socket: takes one value"),
            "{err}"
        );

        let err = with_file("iface = \"eth1\n", &[]).expect_err("syntax");
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn other_commands_and_runs_without_a_file_are_untouched() {
        let report = args(&["dnsrare", "report", "--config", "x"]);
        assert_eq!(apply(report.clone()).expect("untouched"), report);
    }
}
