//! The ClickHouse client: SQL over HTTP POST (the query in the body, or in
//! `?query=` with the rows in the body for inserts), credentials in
//! ClickHouse's `X-ClickHouse-User`/`X-ClickHouse-Key` headers. It creates
//! and checks the schema, inserts batches (pairs first, then the window
//! row) and streams the central report's rows back.

use std::{
    io::{BufRead, BufReader},
    time::Duration,
};

use dnsrare_core::export::{
    batch::WindowBatch,
    central::{CentralPair, SensorTotals},
    schema::{self, ReadFilter, SCHEMA_VERSION, SchemaInfo},
};
use serde::de::DeserializeOwned;
use thiserror::Error;

use super::target::Target;

/// How long one request may take (the central report's reads of a large
/// store take a while: 16 s per sensor of 3.5 M queries here).
const TIMEOUT: Duration = Duration::from_secs(600);
/// Memory a read's `GROUP BY` may take before it spills to disk (the
/// default per-query limit of ClickHouse is 10 GB; small servers set less).
const GROUP_BY_MEMORY: &str = "500000000";
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What went wrong talking to ClickHouse.
#[derive(Debug, Error)]
pub enum ClickHouseError {
    /// No answer: refused, unreachable, timed out, cut off.
    #[error("cannot reach ClickHouse at {endpoint}")]
    Unreachable {
        /// The endpoint.
        endpoint: String,
        /// Cause.
        #[source]
        source: ureq::Error,
    },
    /// The server answered with an error.
    #[error("ClickHouse at {endpoint} refused {what}: HTTP {status}: {message}")]
    Server {
        /// The endpoint.
        endpoint: String,
        /// What was asked.
        what: String,
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The database holds no dnsrare schema.
    #[error(
        "{target} holds no dnsrare schema (no schema_info table): run `dnsrare clickhouse init {target}`"
    )]
    NoSchema {
        /// The store.
        target: String,
    },
    /// The database holds another schema version.
    #[error(
        "{target} has dnsrare schema version {found}; this dnsrare reads and writes version \
         {SCHEMA_VERSION}: use a dnsrare of the same version, or another database"
    )]
    SchemaVersion {
        /// The store.
        target: String,
        /// The version recorded.
        found: u32,
    },
    /// `init` was asked for another layout than the one recorded.
    #[error("{target} was initialised with cluster {found:?}, not {asked:?}: use another database")]
    Layout {
        /// The store.
        target: String,
        /// Recorded cluster.
        found: String,
        /// Asked cluster.
        asked: String,
    },
    /// A row that does not parse.
    #[error("ClickHouse at {endpoint} sent a row that does not parse: {line:?}")]
    Row {
        /// The endpoint.
        endpoint: String,
        /// The row (cut to 200 bytes).
        line: String,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
    /// Reading the answer failed.
    #[error("reading ClickHouse's answer from {endpoint}")]
    Read {
        /// The endpoint.
        endpoint: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

impl ClickHouseError {
    /// Whether the server could not be reached at all (worth retrying
    /// later), as opposed to a refusal.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Read { .. })
    }
}

/// A connection to one ClickHouse store.
pub struct Client {
    target: Target,
    agent: ureq::Agent,
}

impl Client {
    /// A client of `target` (nothing is sent yet).
    pub fn new(target: Target) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(TIMEOUT))
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        Self { target, agent }
    }

    /// The store.
    pub fn target(&self) -> &Target {
        &self.target
    }

    fn post(
        &self,
        what: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<ureq::http::Response<ureq::Body>, ClickHouseError> {
        let endpoint = &self.target.endpoint;
        let mut req = self
            .agent
            .post(endpoint.as_str())
            .query("output_format_json_quote_64bit_integers", "0")
            .query("max_bytes_before_external_group_by", GROUP_BY_MEMORY);
        if let Some(q) = query {
            req = req.query("query", q);
        }
        if let Some(c) = &self.target.credentials {
            req = req
                .header("X-ClickHouse-User", &c.user)
                .header("X-ClickHouse-Key", &c.password);
        }
        let mut resp = req
            .send(body)
            .map_err(|source| ClickHouseError::Unreachable {
                endpoint: endpoint.clone(),
                source,
            })?;
        let status = resp.status().as_u16();
        if status != 200 {
            let message = resp
                .body_mut()
                .read_to_string()
                .unwrap_or_default()
                .trim()
                .to_owned();
            return Err(ClickHouseError::Server {
                endpoint: endpoint.clone(),
                what: what.to_owned(),
                status,
                message,
            });
        }
        Ok(resp)
    }

    /// Runs `sql`; returns the answer as text.
    pub fn execute(&self, sql: &str) -> Result<String, ClickHouseError> {
        let mut resp = self.post(first_words(sql), None, sql.as_bytes())?;
        resp.body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .map_err(|e| ClickHouseError::Read {
                endpoint: self.target.endpoint.clone(),
                source: e.into_io(),
            })
    }

    /// Runs `sql` (ending in `FORMAT JSONEachRow`) and parses each row.
    pub fn rows<T: DeserializeOwned>(&self, sql: &str) -> Result<Vec<T>, ClickHouseError> {
        let resp = self.post(first_words(sql), None, sql.as_bytes())?;
        let endpoint = &self.target.endpoint;
        let reader = BufReader::new(resp.into_body().into_with_config().limit(u64::MAX).reader());
        let mut out = Vec::new();
        for line in reader.lines() {
            let line = line.map_err(|source| ClickHouseError::Read {
                endpoint: endpoint.clone(),
                source,
            })?;
            if line.is_empty() {
                continue;
            }
            out.push(
                serde_json::from_str(&line).map_err(|source| ClickHouseError::Row {
                    endpoint: endpoint.clone(),
                    line: line.chars().take(200).collect(),
                    source,
                })?,
            );
        }
        Ok(out)
    }

    fn insert(&self, table: &str, rows: &str) -> Result<(), ClickHouseError> {
        if rows.is_empty() {
            return Ok(());
        }
        let query = format!(
            "INSERT INTO {}.{table} FORMAT JSONEachRow",
            self.target.database
        );
        self.post(
            &format!("an insert into {table}"),
            Some(&query),
            rows.as_bytes(),
        )
        .map(drop)
    }

    /// Creates the schema (idempotent), with `Distributed` tables over
    /// `cluster` when given, and records its version; a database that
    /// holds another version or layout is refused.
    pub fn init(
        &self,
        cluster: Option<&str>,
        retention_days: u32,
    ) -> Result<SchemaInfo, ClickHouseError> {
        let db = &self.target.database;
        match self.schema() {
            Ok(info) => {
                let asked = cluster.unwrap_or("");
                if info.cluster != asked {
                    return Err(ClickHouseError::Layout {
                        target: self.target.to_string(),
                        found: info.cluster,
                        asked: asked.to_owned(),
                    });
                }
                return Ok(info);
            }
            Err(ClickHouseError::NoSchema { .. }) => {}
            Err(e) => return Err(e),
        }
        for sql in schema::create_statements(db, cluster) {
            self.execute(&sql)?;
        }
        self.insert("schema_info", &schema::schema_row(cluster, retention_days))?;
        self.schema()
    }

    /// The recorded schema; refused unless it is this build's version.
    pub fn schema(&self) -> Result<SchemaInfo, ClickHouseError> {
        let db = &self.target.database;
        let info: Vec<SchemaInfo> = match self.rows(&schema::schema_query(db)) {
            Ok(rows) => rows,
            // 81: no such database, 60: no such table.
            Err(ClickHouseError::Server { message, .. })
                if message.starts_with("Code: 81,") || message.starts_with("Code: 60,") =>
            {
                Vec::new()
            }
            Err(e) => return Err(e),
        };
        let Some(info) = info.into_iter().next() else {
            return Err(ClickHouseError::NoSchema {
                target: self.target.to_string(),
            });
        };
        if info.version != SCHEMA_VERSION {
            return Err(ClickHouseError::SchemaVersion {
                target: self.target.to_string(),
                found: info.version,
            });
        }
        Ok(info)
    }

    /// Inserts `batch`: its pairs, then its window row. Inserting a batch
    /// again is harmless (the tables collapse rows of one batch id).
    pub fn send(&self, batch: &WindowBatch) -> Result<(), ClickHouseError> {
        self.insert("pairs", &batch.pairs_rows())?;
        self.insert("windows", &batch.window_row())
    }

    /// The per-(sensor, host, name) aggregates and each sensor's totals
    /// that `filter` keeps; the aggregates are read one sensor at a time
    /// (a smaller `GROUP BY` each).
    pub fn read(
        &self,
        info: &SchemaInfo,
        filter: &ReadFilter,
    ) -> Result<(Vec<CentralPair>, Vec<SensorTotals>), ClickHouseError> {
        let db = &self.target.database;
        let sensors: Vec<SensorTotals> = self.rows(&schema::sensors_query(
            &info.read_table(db, "windows"),
            filter,
        ))?;
        let mut pairs = Vec::new();
        for s in &sensors {
            let one = ReadFilter {
                sensors: vec![s.sensor.clone()],
                ..filter.clone()
            };
            pairs.extend(
                self.rows::<CentralPair>(&schema::pairs_query(
                    &info.read_table(db, "pairs"),
                    &one,
                ))?,
            );
        }
        Ok((pairs, sensors))
    }

    /// Drops the UTC days older than the retention recorded at `init`
    /// (none when it is 0) from this node's tables; returns the days
    /// dropped.
    pub fn prune(&self, info: &SchemaInfo, now_s: u64) -> Result<Vec<String>, ClickHouseError> {
        if info.retention_days == 0 {
            return Ok(Vec::new());
        }
        let db = &self.target.database;
        let oldest_kept =
            schema::utc_day(now_s.saturating_sub(u64::from(info.retention_days) * 86_400));
        let mut dropped = Vec::new();
        for table in ["pairs", "windows"] {
            let days = self.execute(&schema::partitions_query(db, table))?;
            for day in days.lines().filter(|d| *d < oldest_kept.as_str()) {
                self.execute(&schema::drop_partition(db, table, day))?;
                if !dropped.iter().any(|d| d == day) {
                    dropped.push(day.to_owned());
                }
            }
        }
        Ok(dropped)
    }
}

fn first_words(sql: &str) -> &str {
    let end = sql
        .char_indices()
        .filter(|(_, c)| *c == ' ')
        .nth(2)
        .map_or(sql.len(), |(i, _)| i);
    &sql[..end]
}
