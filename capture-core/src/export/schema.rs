//! The ClickHouse schema and the central report's queries, as SQL text.
//! Written for ClickHouse 18.16 (Debian 12's), which has no `TTL` clause
//! and deduplicates inserts only in replicated tables, so:
//!
//! - both data tables are `ReplacingMergeTree`s whose sorting key ends
//!   with the batch id, and every read says `FINAL`: a batch inserted
//!   twice (a retry after a lost answer) counts once;
//! - data is partitioned by UTC day and retention drops whole days
//!   ([`drop_partition`], run by `dnsrare clickhouse prune` and the
//!   exporter), keeping the days recorded at `init`;
//! - the schema version and settings are one row of `schema_info`; a
//!   database with another version is refused.
//!
//! With a cluster, every node holds the local tables and `pairs_all` /
//! `windows_all` (`Distributed` engine) read them all; a sensor inserts
//! into its node's local tables, so a batch's copies meet on one shard
//! and `FINAL` collapses them there.

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// Names a database or cluster may have: letters, digits, `_`, not
/// starting with a digit (checked before they go into SQL text).
pub fn valid_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Quotes `s` as a ClickHouse string literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The statements that create the schema in `db` (idempotent), with
/// `Distributed` tables over `cluster` when given. Identifiers must pass
/// [`valid_identifier`].
pub fn create_statements(db: &str, cluster: Option<&str>) -> Vec<String> {
    let mut out = vec![
        format!("CREATE DATABASE IF NOT EXISTS {db}"),
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.pairs (\
             sensor String, batch String, window_s UInt64, window_len_s UInt64, host String, \
             name String, queries UInt64, qtypes Array(UInt16), first_ns UInt64, last_ns UInt64, \
             arrivals_ns Array(UInt64), responses UInt64, nxdomain UInt64, failures UInt64, \
             first_response_ns UInt64, answered UInt64, first_answer_ns UInt64, \
             last_answer_ns UInt64, ttl_min UInt32, ttl_max UInt32, addresses Array(String), \
             chain String, max_v4 UInt8, max_v6 UInt8) \
             ENGINE = ReplacingMergeTree \
             PARTITION BY toDate(toDateTime(window_s, 'UTC')) \
             ORDER BY (sensor, window_s, name, host, batch)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.windows (\
             sensor String, batch String, window_s UInt64, window_len_s UInt64, \
             packets UInt64, queries UInt64, responses UInt64, lost UInt64, \
             parse_errors UInt64, ignored UInt64, pairs UInt64, pair_queries UInt64, \
             spool_dropped_batches UInt64, spool_dropped_queries UInt64) \
             ENGINE = ReplacingMergeTree \
             PARTITION BY toDate(toDateTime(window_s, 'UTC')) \
             ORDER BY (sensor, window_s, batch)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS {db}.schema_info (\
             version UInt32, cluster String, retention_days UInt32) ENGINE = TinyLog"
        ),
    ];
    if let Some(cluster) = cluster {
        for table in ["pairs", "windows"] {
            out.push(format!(
                "CREATE TABLE IF NOT EXISTS {db}.{table}_all AS {db}.{table} \
                 ENGINE = Distributed({cluster}, {db}, {table})"
            ));
        }
    }
    out
}

/// The row `init` records in `schema_info`.
pub fn schema_row(cluster: Option<&str>, retention_days: u32) -> String {
    format!(
        "{}\n",
        serde_json::json!({
            "version": SCHEMA_VERSION,
            "cluster": cluster.unwrap_or(""),
            "retention_days": retention_days,
        })
    )
}

/// Reads the recorded schema (`version`, `cluster`, `retention_days`).
pub fn schema_query(db: &str) -> String {
    format!(
        "SELECT version, cluster, retention_days FROM {db}.schema_info \
         ORDER BY version DESC LIMIT 1 FORMAT JSONEachRow"
    )
}

/// The recorded schema of a database.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct SchemaInfo {
    /// Schema version.
    pub version: u32,
    /// The cluster of the `Distributed` tables, empty without.
    pub cluster: String,
    /// Days of data kept; 0 keeps everything.
    pub retention_days: u32,
}

impl SchemaInfo {
    /// The table the central report reads for `table` (`pairs` or
    /// `windows`): the `Distributed` one on a cluster.
    pub fn read_table(&self, db: &str, table: &str) -> String {
        if self.cluster.is_empty() {
            format!("{db}.{table}")
        } else {
            format!("{db}.{table}_all")
        }
    }
}

/// The filter of a central report: since when, which sensors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadFilter {
    /// Only windows that end after this, ns since the epoch.
    pub since_ns: Option<u64>,
    /// Only these sensors (all when empty).
    pub sensors: Vec<String>,
}

impl ReadFilter {
    fn clause(&self) -> String {
        let mut parts = Vec::new();
        if let Some(since) = self.since_ns {
            // A window that ends after `since` may hold queries after it.
            parts.push(format!(
                "window_s + window_len_s > {}",
                since / 1_000_000_000
            ));
        }
        if !self.sensors.is_empty() {
            let list: Vec<String> = self.sensors.iter().map(|s| quote(s)).collect();
            parts.push(format!("sensor IN ({})", list.join(", ")));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", parts.join(" AND "))
        }
    }
}

/// The per-(sensor, host, name) aggregates over every window the filter
/// keeps, one JSON row each: SQL sums the windows, the engine scores.
pub fn pairs_query(pairs: &str, filter: &ReadFilter) -> String {
    // The inner names differ from the output's, so that no output alias
    // shadows a column inside another aggregate.
    format!(
        "SELECT sensor, host, name, sum(q) AS queries, groupUniqArrayArray(qt) AS qtypes, \
         minIf(fq, q > 0) AS first_ns, max(lq) AS last_ns, \
         groupArrayArray(arr) AS arrivals_ns, sum(r) AS responses, sum(nx) AS nxdomain, \
         sum(fail) AS failures, minIf(fr, r > 0) AS first_response_ns, \
         groupArrayIf((fa, la, an, tl, th, ad, ch, m4, m6), an > 0) AS answers \
         FROM (SELECT sensor, host, name, queries AS q, qtypes AS qt, first_ns AS fq, \
         last_ns AS lq, arrivals_ns AS arr, responses AS r, nxdomain AS nx, failures AS fail, \
         first_response_ns AS fr, answered AS an, first_answer_ns AS fa, last_answer_ns AS la, \
         ttl_min AS tl, ttl_max AS th, addresses AS ad, chain AS ch, max_v4 AS m4, \
         max_v6 AS m6 FROM {pairs} FINAL{}) \
         GROUP BY sensor, host, name FORMAT JSONEachRow",
        filter.clause()
    )
}

/// Each sensor's counters, losses and span, one JSON row each.
pub fn sensors_query(windows: &str, filter: &ReadFilter) -> String {
    format!(
        "SELECT sensor, count() AS windows, sum(packets) AS packets, sum(queries) AS queries, \
         sum(responses) AS responses, sum(lost) AS lost, sum(parse_errors) AS parse_errors, \
         sum(ignored) AS ignored, sum(pair_queries) AS pair_queries, \
         max(spool_dropped_batches) AS spool_dropped_batches, \
         max(spool_dropped_queries) AS spool_dropped_queries, \
         min(window_s) AS first_window_s, max(window_s + window_len_s) AS last_window_end_s \
         FROM {windows} FINAL{} GROUP BY sensor ORDER BY sensor FORMAT JSONEachRow",
        filter.clause()
    )
}

/// The UTC days (`YYYY-MM-DD`) holding data in `table`.
pub fn partitions_query(db: &str, table: &str) -> String {
    format!(
        "SELECT DISTINCT partition FROM system.parts WHERE active AND database = {} \
         AND table = {} ORDER BY partition FORMAT TabSeparated",
        quote(db),
        quote(table)
    )
}

/// Drops one UTC day of `table`.
pub fn drop_partition(db: &str, table: &str, day: &str) -> String {
    format!("ALTER TABLE {db}.{table} DROP PARTITION {}", quote(day))
}

/// The UTC day of `unix_s` as ClickHouse names its partition
/// (`YYYY-MM-DD`).
pub fn utc_day(unix_s: u64) -> String {
    // Howard Hinnant's days-to-civil algorithm.
    let z = (unix_s / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_calendar_days() {
        assert_eq!(utc_day(0), "1970-01-01");
        assert_eq!(utc_day(1_700_000_000), "2023-11-14");
        assert_eq!(utc_day(951_782_400), "2000-02-29");
        assert_eq!(utc_day(1_798_761_599), "2026-12-31");
    }

    #[test]
    fn identifiers_and_literals_are_safe() {
        assert!(valid_identifier("dnsrare"));
        assert!(valid_identifier("_x9"));
        assert!(!valid_identifier("9x"));
        assert!(!valid_identifier("a;DROP"));
        assert!(!valid_identifier(""));
        assert_eq!(quote("it's\\"), "'it\\'s\\\\'");
    }

    #[test]
    fn filters_become_where_clauses() {
        let f = ReadFilter {
            since_ns: Some(120_500_000_000),
            sensors: vec!["a".into(), "b'".into()],
        };
        assert_eq!(
            f.clause(),
            " WHERE window_s + window_len_s > 120 AND sensor IN ('a', 'b\\'')"
        );
        assert_eq!(ReadFilter::default().clause(), "");
    }

    #[test]
    fn a_cluster_adds_distributed_tables_and_reads_them() {
        let plain = create_statements("d", None);
        assert_eq!(plain.len(), 4);
        let cluster = create_statements("d", Some("two"));
        assert!(cluster[4].contains("ENGINE = Distributed(two, d, pairs)"));
        let info = SchemaInfo {
            version: SCHEMA_VERSION,
            cluster: "two".into(),
            retention_days: 30,
        };
        assert_eq!(info.read_table("d", "pairs"), "d.pairs_all");
    }
}
