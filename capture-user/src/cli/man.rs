//! The man pages, generated from the flag definitions ([`super::flags`]) so
//! they never drift from `--help`: `dnsrare.1` and one `dnsrare-SUB.1` per
//! visible subcommand. The hidden `dnsrare man DIR` writes them; the Debian
//! package build (`cargo xtask deb`) calls it on the binary it packages.

use std::path::{Path, PathBuf};

use clap::CommandFactory;

use super::flags::Cli;

/// Writes every page into `dir` (created if missing); returns their paths.
pub fn write_pages(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut cmd = Cli::command().disable_help_subcommand(true);
    // Building gives each subcommand its full name (`dnsrare-run`).
    cmd.build();
    let mut written = Vec::new();
    write_tree(&cmd, dir, &mut written)?;
    Ok(written)
}

fn write_tree(cmd: &clap::Command, dir: &Path, written: &mut Vec<PathBuf>) -> std::io::Result<()> {
    // Subcommands carry no version of their own: name it in every footer.
    let page = clap_mangen::Man::new(cmd.clone())
        .source(format!("dnsrare {}", env!("CARGO_PKG_VERSION")))
        .manual("User Commands");
    written.push(page.generate_to(dir)?);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_tree(sub, dir, written)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_page_per_visible_subcommand() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut names: Vec<String> = write_pages(dir.path())
            .expect("write")
            .iter()
            .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "dnsrare-clickhouse-init.1",
                "dnsrare-clickhouse-prune.1",
                "dnsrare-clickhouse.1",
                "dnsrare-eve.1",
                "dnsrare-hosts.1",
                "dnsrare-install.1",
                "dnsrare-pcap.1",
                "dnsrare-report.1",
                "dnsrare-run.1",
                "dnsrare-stats.1",
                "dnsrare-zeek.1",
                "dnsrare.1",
            ]
        );
        let pcap = std::fs::read_to_string(dir.path().join("dnsrare-pcap.1")).expect("read");
        assert!(pcap.contains("\\-\\-html"), "{pcap}");
        let run = std::fs::read_to_string(dir.path().join("dnsrare-run.1")).expect("read");
        assert!(run.contains("\\-\\-iface"), "{run}");
        assert!(
            run.contains(&format!("\"dnsrare {}\"", env!("CARGO_PKG_VERSION"))),
            "{run}"
        );
    }
}
