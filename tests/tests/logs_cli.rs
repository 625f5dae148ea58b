//! `dnsrare zeek` and `dnsrare eve` through the real CLI: the report from
//! a log, and exit code 3 with line numbers when the log is damaged.
//! The logs are written here, a few lines each.

use std::process::{Command, Output};

use dnsrare_tests::dnsrare_bin;

const ZEEK: &str = "#separator \\x09
#set_separator\t,
#empty_field\t(empty)
#unset_field\t-
#path\tdns
#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\ttrans_id\trtt\tquery\tqclass\tqclass_name\tqtype\tqtype_name\trcode\trcode_name\tAA\tTC\tRD\tRA\tZ\tanswers\tTTLs\trejected
#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tcount\tinterval\tstring\tcount\tstring\tcount\tstring\tcount\tstring\tbool\tbool\tbool\tbool\tcount\tvector[string]\tvector[interval]\tbool
1533300000.100000\tC1\t10.1.0.5\t40000\t10.1.0.1\t53\tudp\t1\t0.010000\tOne.Example.com\t1\tC_INTERNET\t1\tA\t0\tNOERROR\tF\tF\tT\tT\t0\t192.0.2.1\t60.000000\tF
1533300001.100000\tC2\t10.1.0.6\t40001\t10.1.0.1\t53\tudp\t2\t-\tone.example.com\t1\tC_INTERNET\t28\tAAAA\t-\t-\tF\tF\tT\tF\t0\t-\t-\tF
1533300002.100000\tC3\t10.1.0.5\t5353\t224.0.0.251\t5353\tudp\t0\t-\tprinter.local\t1\tC_INTERNET\t12\tPTR\t-\t-\tF\tF\tF\tF\t0\t-\t-\tF
#close\t2018-08-03-12-00-00
";

fn run(sub: &str, file: &std::path::Path) -> Output {
    Command::new(dnsrare_bin())
        .arg(sub)
        .arg(file)
        .args(["--json", "--by", "name", "--no-progress"])
        .output()
        .expect("run dnsrare")
}

fn rows(out: &Output) -> Vec<(String, u64)> {
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().expect("name").to_owned(),
                r["queries"].as_u64().expect("queries"),
            )
        })
        .collect()
}

#[test]
fn zeek_log_gives_the_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("dns.log");
    std::fs::write(&log, ZEEK).expect("write");
    let out = run("zeek", &log);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(rows(&out), [("one.example.com".to_owned(), 2)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("3 DNS records (1 skipped"), "{stderr}");
}

#[test]
fn damaged_logs_give_a_partial_report_and_exit_3() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A garbage line (line 8) in a Zeek log.
    let mut lines: Vec<&str> = ZEEK.lines().collect();
    lines.insert(7, "garbage");
    let log = dir.path().join("dns.log");
    std::fs::write(&log, lines.join("\n") + "\n").expect("write");
    let out = run("zeek", &log);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(rows(&out), [("one.example.com".to_owned(), 2)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 malformed line skipped (line 8)"),
        "{stderr}"
    );
    // An EVE file whose last line is cut.
    let eve = dir.path().join("eve.json");
    std::fs::write(
        &eve,
        concat!(
            r#"{"timestamp":"2016-05-24T23:27:01.960780+0000","flow_id":1,"event_type":"dns","src_ip":"10.16.1.11","src_port":53679,"dest_ip":"10.16.1.1","dest_port":53,"proto":"UDP","dns":{"type":"query","id":39339,"rrname":"client-cf.dropbox.com","rrtype":"A","tx_id":0}}"#,
            "\n",
            r#"{"timestamp":"2016-05-24T23:27:02.333141+0000","flow_id":1,"event_type":"dns","src_ip":"10.16.1.1","src_port":53,"dest_ip":"10.16.1.11","dest_port":53679,"proto":"UDP","dns":{"type":"answer","id":39339,"rcode":"NOERROR","rrn"#,
        ),
    )
    .expect("write");
    let out = run("eve", &eve);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(rows(&out), [("client-cf.dropbox.com".to_owned(), 1)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cut in the middle of line 2"), "{stderr}");
}
