//! Where the ClickHouse store is: `clickhouse=http://HOST:8123/?database=NAME`
//! as the flags give it, and the credentials from a file (never from the
//! command line, where every user of the machine could read them).

use std::path::{Path, PathBuf};

use dnsrare_core::export::schema::valid_identifier;
use thiserror::Error;

/// The database used when the URL names none.
pub const DEFAULT_DATABASE: &str = "dnsrare";

/// A ClickHouse store: its HTTP endpoint and database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `http://HOST:PORT/` or `https://…`, without the query string.
    pub endpoint: String,
    /// The database.
    pub database: String,
    /// User and password, when the server wants them.
    pub credentials: Option<Credentials>,
}

/// A ClickHouse user and password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// User name.
    pub user: String,
    /// Password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Credentials {{ user: {:?}, password: <hidden> }}",
            self.user
        )
    }
}

/// A store URL or credentials file that cannot be used.
#[derive(Debug, Error)]
pub enum TargetError {
    /// Not `clickhouse=http(s)://…`.
    #[error("{0:?}: expected clickhouse=http://HOST:8123/?database=NAME")]
    Syntax(String),
    /// A user or password in the URL.
    #[error(
        "{0:?}: put the user and password in a file given with --export-credentials (or the \
         `export-credentials` key), not in the URL"
    )]
    CredentialsInUrl(String),
    /// A query parameter other than `database`.
    #[error("{url:?}: unknown parameter {param:?} (only database=NAME)")]
    Parameter {
        /// The URL.
        url: String,
        /// The parameter.
        param: String,
    },
    /// A database name that is not a plain identifier.
    #[error("{0:?}: the database name must be letters, digits and _")]
    Database(String),
    /// The credentials file cannot be read.
    #[error("cannot read the credentials file {path}")]
    ReadCredentials {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The credentials file is not `USER:PASSWORD`.
    #[error("{0}: the first line must be USER:PASSWORD")]
    CredentialsSyntax(PathBuf),
}

impl Target {
    /// Parses `clickhouse=URL` (the `clickhouse=` prefix may be left out).
    pub fn parse(spec: &str) -> Result<Self, TargetError> {
        let url = spec.strip_prefix("clickhouse=").unwrap_or(spec);
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .ok_or_else(|| TargetError::Syntax(spec.to_owned()))?;
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, q),
            None => (url, ""),
        };
        let authority = rest.split(['/', '?']).next().unwrap_or("");
        if authority.is_empty() {
            return Err(TargetError::Syntax(spec.to_owned()));
        }
        if authority.contains('@') {
            return Err(TargetError::CredentialsInUrl(spec.to_owned()));
        }
        let mut database = DEFAULT_DATABASE.to_owned();
        for param in query.split('&').filter(|p| !p.is_empty()) {
            match param.split_once('=') {
                Some(("database", db)) => database = db.to_owned(),
                Some(("user" | "password", _)) => {
                    return Err(TargetError::CredentialsInUrl(spec.to_owned()));
                }
                _ => {
                    return Err(TargetError::Parameter {
                        url: spec.to_owned(),
                        param: param.to_owned(),
                    });
                }
            }
        }
        if !valid_identifier(&database) {
            return Err(TargetError::Database(spec.to_owned()));
        }
        let mut endpoint = base.to_owned();
        if !endpoint.ends_with('/') {
            endpoint.push('/');
        }
        Ok(Self {
            endpoint,
            database,
            credentials: None,
        })
    }

    /// The same store, with the credentials of `file` (first line
    /// `USER:PASSWORD`).
    pub fn with_credentials_file(mut self, file: &Path) -> Result<Self, TargetError> {
        let text =
            std::fs::read_to_string(file).map_err(|source| TargetError::ReadCredentials {
                path: file.to_owned(),
                source,
            })?;
        let line = text.lines().next().unwrap_or("").trim_end();
        let (user, password) = line
            .split_once(':')
            .filter(|(u, _)| !u.is_empty())
            .ok_or_else(|| TargetError::CredentialsSyntax(file.to_owned()))?;
        self.credentials = Some(Credentials {
            user: user.to_owned(),
            password: password.to_owned(),
        });
        Ok(self)
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}?database={}", self.endpoint, self.database)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_their_database() {
        let t = Target::parse("clickhouse=http://127.0.0.1:8123/?database=dns_1").expect("ok");
        assert_eq!(t.endpoint, "http://127.0.0.1:8123/");
        assert_eq!(t.database, "dns_1");
        let t = Target::parse("http://ch.example:8123").expect("ok");
        assert_eq!(t.endpoint, "http://ch.example:8123/");
        assert_eq!(t.database, DEFAULT_DATABASE);
    }

    #[test]
    fn credentials_in_urls_and_bad_names_are_refused() {
        for bad in [
            "clickhouse=http://u:p@h:8123/",
            "clickhouse=http://h:8123/?password=x",
        ] {
            assert!(matches!(
                Target::parse(bad),
                Err(TargetError::CredentialsInUrl(_))
            ));
        }
        assert!(matches!(
            Target::parse("http://h/?database=a;b"),
            Err(TargetError::Database(_))
        ));
        assert!(matches!(
            Target::parse("ftp://h/"),
            Err(TargetError::Syntax(_))
        ));
        assert!(matches!(
            Target::parse("http://h/?x=1"),
            Err(TargetError::Parameter { .. })
        ));
    }

    #[test]
    fn credentials_come_from_the_first_line_of_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("creds");
        std::fs::write(&f, "dnsrare:s3:cret\nignored\n").expect("write");
        let t = Target::parse("http://h/")
            .expect("ok")
            .with_credentials_file(&f)
            .expect("reads");
        let c = t.credentials.expect("set");
        assert_eq!(
            (c.user.as_str(), c.password.as_str()),
            ("dnsrare", "s3:cret")
        );
        assert!(!format!("{c:?}").contains("s3"));
        std::fs::write(&f, "nopassword\n").expect("write");
        assert!(
            Target::parse("http://h/")
                .expect("ok")
                .with_credentials_file(&f)
                .is_err()
        );
    }
}
