//! A real ClickHouse server (Debian's `clickhouse-server`, installed by
//! `cargo xtask setup`) for the export tests: a plain process on loopback
//! ports of its own, with its data in a temporary directory; killed and
//! removed when dropped, even when the test fails. It can run inside a
//! lab's gateway namespace, where a daemon under test reaches it.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use traffic::netns::Lab;

use crate::wait_for;

/// A free loopback TCP port (free now; the server binds it soon after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// One ClickHouse server.
pub struct ClickHouse<'a> {
    child: Option<Child>,
    dir: tempfile::TempDir,
    lab: Option<&'a Lab>,
    /// Its HTTP port.
    pub http_port: u16,
    /// Its native port (what Distributed tables connect to).
    pub tcp_port: u16,
}

impl<'a> ClickHouse<'a> {
    /// Starts a server on free ports, in `lab`'s gateway namespace when
    /// given, with a cluster `two` over the native ports `cluster` when
    /// not empty; waits until it answers.
    pub fn start(lab: Option<&'a Lab>, cluster: &[u16]) -> Self {
        Self::start_on(lab, free_port(), free_port(), cluster)
    }

    /// Like [`ClickHouse::start`] on the given ports.
    pub fn start_on(lab: Option<&'a Lab>, http_port: u16, tcp_port: u16, cluster: &[u16]) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        write_config(dir.path(), http_port, tcp_port, cluster);
        let mut server = Self {
            child: None,
            dir,
            lab,
            http_port,
            tcp_port,
        };
        server.restart();
        server
    }

    /// Starts the (stopped) server again on its ports and data.
    pub fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let program = "clickhouse-server";
        let mut cmd = match self.lab {
            Some(lab) => lab.gateway_command(program),
            None => Command::new(program),
        };
        let child = cmd
            .arg(format!(
                "--config-file={}",
                self.dir.path().join("config.xml").display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting clickhouse-server (run `cargo xtask setup`)");
        self.child = Some(child);
        wait_for("ClickHouse to answer", Duration::from_secs(60), || {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "clickhouse-server exited early ({status}): {}",
                    std::fs::read_to_string(self.dir.path().join("err.log")).unwrap_or_default()
                );
            }
            self.try_http("GET", "/ping", "")
                .filter(|(status, _)| *status == 200)
                .map(drop)
        });
    }

    /// Kills the server (SIGKILL: the harshest outage) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `clickhouse=http://127.0.0.1:PORT/?database=DB`.
    pub fn url(&self, db: &str) -> String {
        format!(
            "clickhouse=http://127.0.0.1:{}/?database={db}",
            self.http_port
        )
    }

    /// Runs `sql` and returns the answer; panics on an error.
    pub fn query(&self, sql: &str) -> String {
        match self.try_http("POST", "/", sql) {
            Some((200, body)) => body,
            other => panic!("ClickHouse: {sql}: {other:?}"),
        }
    }

    /// One HTTP request (`None` when nothing answers).
    fn try_http(&self, method: &str, path: &str, body: &str) -> Option<(u16, String)> {
        let port = self.http_port;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let exchange = move || -> Option<(u16, String)> {
            let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
            s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
            s.write_all(request.as_bytes()).ok()?;
            let mut answer = Vec::new();
            s.read_to_end(&mut answer).ok()?;
            let text = String::from_utf8_lossy(&answer).into_owned();
            let status = text.split(' ').nth(1)?.parse().ok()?;
            let (head, body) = text.split_once("\r\n\r\n")?;
            let body = if head
                .to_ascii_lowercase()
                .contains("transfer-encoding: chunked")
            {
                unchunk(body)
            } else {
                body.to_owned()
            };
            Some((status, body))
        };
        match self.lab {
            Some(lab) => lab.in_gateway(exchange).ok().flatten(),
            None => exchange(),
        }
    }
}

impl Drop for ClickHouse<'_> {
    fn drop(&mut self) {
        self.stop();
    }
}

fn unchunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

fn write_config(dir: &Path, http_port: u16, tcp_port: u16, cluster: &[u16]) {
    let d = dir.display();
    let shards: String = cluster
        .iter()
        .map(|p| {
            format!("<shard><replica><host>127.0.0.1</host><port>{p}</port></replica></shard>")
        })
        .collect();
    let remote = if cluster.is_empty() {
        String::new()
    } else {
        format!("<remote_servers><two>{shards}</two></remote_servers>")
    };
    let config = format!(
        r#"<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/err.log</errorlog></logger>
  <http_port>{http_port}</http_port>
  <tcp_port>{tcp_port}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{d}/data/</path>
  <tmp_path>{d}/data/tmp/</tmp_path>
  <user_files_path>{d}/data/user_files/</user_files_path>
  <format_schema_path>{d}/data/format_schemas/</format_schema_path>
  <users_config>{d}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>104857600</mark_cache_size>
  <uncompressed_cache_size>104857600</uncompressed_cache_size>
  <mlock_executable>false</mlock_executable>
  {remote}
</yandex>
"#
    );
    let users = r#"<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users>
    <default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default>
    <dnsrare><password>s3cret</password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></dnsrare>
  </users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
"#;
    std::fs::write(dir.join("config.xml"), config).expect("config.xml");
    std::fs::write(dir.join("users.xml"), users).expect("users.xml");
}
