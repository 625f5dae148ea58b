//! The client side of the local socket: send one request, read one answer.

use std::{
    io::{BufRead, BufReader, Write},
    os::unix::net::UnixStream,
    path::{Path, PathBuf},
    time::Duration,
};

use thiserror::Error;

use dnsrare_core::protocol::{Request, Response};

/// How long a client waits for the daemon's answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

/// Errors talking to the daemon.
#[derive(Debug, Error)]
pub enum ClientError {
    /// Nothing listens at the socket path.
    #[error("cannot reach the daemon at {path} (is `dnsrare run` running?): {source}")]
    Connect {
        /// Socket path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The connection broke.
    #[error("talking to the daemon at {path}: {source}")]
    Io {
        /// Socket path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The daemon answered something this client does not understand.
    #[error("the daemon's answer is not understood: {0}")]
    Decode(#[source] serde_json::Error),
    /// The daemon answered with an error.
    #[error("the daemon refused: {0}")]
    Refused(String),
}

/// Sends `request` to the daemon at `path` and returns its answer.
pub fn ask(path: &Path, request: &Request) -> Result<Response, ClientError> {
    let io = |source| ClientError::Io {
        path: path.to_owned(),
        source,
    };
    let mut stream = UnixStream::connect(path).map_err(|source| ClientError::Connect {
        path: path.to_owned(),
        source,
    })?;
    stream.set_read_timeout(Some(ANSWER_TIMEOUT)).map_err(io)?;
    let mut line = serde_json::to_vec(request).map_err(ClientError::Decode)?;
    line.push(b'\n');
    stream.write_all(&line).map_err(io)?;
    let mut answer = Vec::new();
    BufReader::new(stream)
        .read_until(b'\n', &mut answer)
        .map_err(io)?;
    match serde_json::from_slice(&answer).map_err(ClientError::Decode)? {
        Response::Error { message } => Err(ClientError::Refused(message)),
        response => Ok(response),
    }
}
