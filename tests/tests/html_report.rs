//! `dnsrare pcap FILE --html OUT.html`: one self-contained page that loads
//! nothing from the network, rendered by headless Chromium (file:// only,
//! background networking off, every host name unresolvable), whose DOM has
//! the beacon's finding, the query-count histogram and the beacon's
//! timeline with its beats and missed beats. A screenshot is kept as
//! `<target>/html-report.png` for CI to keep. Without Chromium (`cargo
//! xtask setup` installs it) only the page itself is checked, with a note.

use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use dnsrare_tests::{dnsrare_bin, workspace_root};
use traffic::{
    pcap_out,
    scenario::{self, ScenarioConfig},
};

const CHROMIUM: &str = "/usr/bin/chromium";

/// Four hours of 30 hosts, one of them beaconing every five minutes and
/// skipping a beat now and then.
/// The beacon: its name, host and beats skipped.
struct Beacon {
    name: String,
    host: String,
}

fn capture(dir: &Path) -> (PathBuf, Beacon) {
    let config = ScenarioConfig {
        benign_queries: 3000,
        beacon_periods_s: vec![300],
        dyndns_periods_s: Vec::new(),
        beacon_miss_rate: 0.1,
        ip_lookups: 0,
        dga_bursts: 1,
        tunnels: 0,
        decoys: 0,
        malformed_per_reason: 1,
        ..ScenarioConfig::sized(30, 4 * 3600)
    };
    let (packets, truth) = scenario::generate(&config);
    let file = dir.join("beacon.pcap");
    pcap_out::write_pcap(&file, &packets).expect("write the capture");
    let beacon = truth.beacons.first().expect("one beacon");
    assert!(beacon.missed > 0, "the seed skips some beats: {beacon:?}");
    (
        file,
        Beacon {
            name: beacon.name.clone(),
            host: beacon.host.to_string(),
        },
    )
}

/// Where cargo puts its output: `$CARGO_TARGET_DIR`, else the directory
/// this test executable was built under (`<target>/<profile>/deps/`).
fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        return if dir.is_absolute() {
            dir
        } else {
            workspace_root().join(dir)
        };
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Every `src=`, `href=` and CSS `url(` value of the page.
fn references(page: &str) -> Vec<String> {
    let mut found = Vec::new();
    for key in ["src=", "href=", "url(", "@import", "srcset=", "action="] {
        let lower = page.to_ascii_lowercase();
        let mut at = 0;
        while let Some(i) = lower[at..].find(key) {
            let start = at + i + key.len();
            let value: String = page[start..]
                .trim_start_matches(['"', '\'', ' '])
                .chars()
                .take_while(|c| !matches!(c, '"' | '\'' | ')' | ' ' | '>'))
                .collect();
            found.push(format!("{key}{value}"));
            at = start;
        }
    }
    found
}

/// Runs Chromium headless on `page` with `args`, never reaching the
/// network; kills it after two minutes.
fn chromium(profile: &Path, args: &[String], page: &Path) -> Output {
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let started = Instant::now();
    while child.try_wait().expect("wait for chromium").is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().expect("chromium output")
}

/// The `<svg …>…</svg>` element whose attributes include `marker`.
fn svg_with<'a>(dom: &'a str, marker: &str) -> &'a str {
    let at = dom
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in the DOM"));
    let start = dom[..at].rfind("<svg").expect("inside an svg element");
    let end = at + dom[at..].find("</svg>").expect("closed") + "</svg>".len();
    &dom[start..end]
}

/// `dnsrare pcap PCAP --html HTML --json`, which must succeed.
fn pcap_with_html(pcap: &Path, html: &Path) -> std::process::Output {
    let out = Command::new(dnsrare_bin())
        .arg("pcap")
        .arg(pcap)
        .arg("--html")
        .arg(html)
        .args(["--json", "--no-progress"])
        .output()
        .expect("run dnsrare pcap");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `--html` to a pipe (or `/dev/stdout`, `/dev/null`) writes into it: the
/// temporary-file-and-rename that protects a regular file would replace
/// the pipe (it once replaced `/dev/null` with a file).
#[test]
fn html_report_into_a_pipe_leaves_the_pipe() {
    use std::{io::Read, os::unix::fs::FileTypeExt};
    let dir = tempfile::tempdir().expect("tempdir");
    let (pcap, _) = capture(dir.path());
    let fifo = dir.path().join("page.fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut page = String::new();
            std::fs::File::open(&fifo)
                .expect("open the pipe")
                .read_to_string(&mut page)
                .expect("read the pipe");
            page
        })
    };
    pcap_with_html(&pcap, &fifo);
    let kind = std::fs::metadata(&fifo).expect("still there").file_type();
    assert!(kind.is_fifo(), "the pipe was replaced: {kind:?}");
    // A reader still waiting for a writer (nothing was written) gets end
    // of file from this one instead of waiting for ever; with no reader
    // left, opening fails at once and is ignored.
    {
        use std::os::unix::fs::OpenOptionsExt;
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo);
    }
    let page = reader.join().expect("the reader");
    assert!(
        page.starts_with("<!DOCTYPE html>"),
        "{}",
        &page[..page.len().min(80)]
    );
    assert!(page.trim_end().ends_with("</html>"));
}

#[test]
fn html_report_is_self_contained_and_renders_the_beacon() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (pcap, beacon) = capture(dir.path());
    let html = dir.path().join("report.html");
    let out = pcap_with_html(&pcap, &html);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");

    // What the page draws comes from the engine, in the JSON as well.
    let histogram = report["query_histogram"].as_array().expect("histogram");
    assert!(
        histogram
            .iter()
            .any(|b| b["max_queries"] == 1 && b["names"].as_u64() > Some(0))
    );
    let findings = report["findings"].as_array().expect("findings");
    let finding = findings
        .iter()
        .position(|f| f["kind"] == "beacon" && f["names"][0] == beacon.name.as_str())
        .unwrap_or_else(|| panic!("a beacon finding for {}: {findings:?}", beacon.name));
    let timeline = report["timelines"]
        .as_array()
        .expect("timelines")
        .iter()
        .find(|t| t["finding"] == finding)
        .expect("the beacon's timeline");
    assert_eq!(timeline["host"], beacon.host);
    let beats = timeline["arrivals_ns"].as_array().expect("arrivals").len();
    let missed = timeline["missed_ns"].as_array().expect("missed").len();
    assert!(beats >= 8, "{timeline}");
    assert!(missed > 0, "the skipped beats are marked: {timeline}");
    // The DGA burst's timeline draws its host's queries for its names.
    let burst = findings
        .iter()
        .position(|f| f["kind"] == "dga_burst")
        .expect("the DGA burst");
    let burst = report["timelines"]
        .as_array()
        .expect("timelines")
        .iter()
        .find(|t| t["finding"] == burst)
        .expect("the burst's timeline");
    let names = burst["names"].as_array().expect("names").len();
    assert!(names > 1, "{burst}");
    assert!(burst["arrivals_ns"].as_array().expect("arrivals").len() >= names);
    assert!(
        report["hosts"]
            .as_array()
            .expect("host rows")
            .iter()
            .any(|h| h["addr"] == beacon.host)
    );

    // The page loads nothing: no URL anywhere, no reference to one.
    let page = std::fs::read_to_string(&html).expect("the page");
    for reference in references(&page) {
        let value = reference.to_ascii_lowercase();
        assert!(
            value.starts_with("href=#") || value.starts_with("href=\"#"),
            "only in-page links: {reference}"
        );
    }
    assert!(!page.contains("http://") && !page.contains("https://"));
    assert!(!page.contains("<script") && !page.contains("<link") && !page.contains("<img"));
    assert!(page.contains(&beacon.name));

    if !Path::new(CHROMIUM).exists() {
        eprintln!(
            "html_report: {CHROMIUM} is absent (`cargo xtask setup` installs the Debian package \
             chromium), so the page was checked but not rendered"
        );
        return;
    }
    let profile = tempfile::tempdir().expect("profile dir");
    let dump = chromium(profile.path(), &["--dump-dom".to_owned()], &html);
    let dom = String::from_utf8_lossy(&dump.stdout);
    assert!(
        dom.contains("</html>"),
        "chromium rendered the page: {}",
        String::from_utf8_lossy(&dump.stderr)
    );
    assert!(dom.contains(&beacon.name), "the beacon's finding is listed");
    assert!(dom.contains(&format!("id=\"finding-{finding}\"")));
    let chart = svg_with(&dom, "id=\"histogram\"");
    assert_eq!(
        chart.matches("<rect").count(),
        histogram.len(),
        "a bar per bucket"
    );
    assert!(chart.contains("class=\"bar rare\""), "the rare tail marked");
    let chart = svg_with(&dom, &format!("id=\"timeline-chart-{finding}\""));
    assert!(chart.contains("timeline-chart"));
    assert_eq!(chart.matches("class=\"beat\"").count(), beats);
    assert_eq!(chart.matches("class=\"missed\"").count(), missed);

    let shot = target_dir().join("html-report.png");
    let _ = std::fs::remove_file(&shot);
    let profile = tempfile::tempdir().expect("profile dir");
    let out = chromium(
        profile.path(),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000".to_owned(),
            "--hide-scrollbars".to_owned(),
        ],
        &html,
    );
    let png = std::fs::read(&shot).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: {}",
            shot.display(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);
    eprintln!("html_report: screenshot in {}", shot.display());
}

/// `dnsrare zeek --html` shares the report options: the page from a
/// two-line Zeek log, with its histogram; `--by name` is refused (the page
/// is of findings).
#[test]
fn zeek_writes_the_page_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("dns.log");
    let fields = "ts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected";
    let line = |ts: &str, host: &str, name: &str| {
        format!(
            "{ts}\tC1\t{host}\t40000\t10.1.0.1\t53\tudp\t1\t0.01\t{name}\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t192.0.2.1\t60.0\tF\n"
        )
    };
    let text = format!(
        "#separator \\x09\n#path\tdns\n#fields\t{fields}\n{}{}",
        line("1533300000.1", "10.1.0.5", "one.example.com"),
        line("1533300001.1", "10.1.0.6", "one.example.com"),
    );
    std::fs::write(&log, text).expect("write");
    let html = dir.path().join("zeek.html");
    let out = Command::new(dnsrare_bin())
        .arg("zeek")
        .arg(&log)
        .arg("--html")
        .arg(&html)
        .arg("--no-progress")
        .output()
        .expect("run dnsrare zeek");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&html).expect("the page");
    assert!(page.contains("id=\"histogram\""), "{page}");
    assert!(
        page.contains("data-max-queries=\"2\""),
        "one name asked twice"
    );
    assert!(!page.contains("http"));
    let refused = Command::new(dnsrare_bin())
        .arg("zeek")
        .arg(&log)
        .args(["--by", "name", "--html"])
        .arg(dir.path().join("no.html"))
        .output()
        .expect("run dnsrare zeek");
    assert_eq!(refused.status.code(), Some(2), "a usage error");
    assert!(!dir.path().join("no.html").exists());
}
