//! Engine errors: one variant per kind of operation, each naming the object, because
//! bollard's own errors rarely say what was being attempted.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "cannot reach the Docker engine ({detail}); is dockerd running and is DOCKER_HOST right? \
         `docker info` should answer"
    )]
    Connect { detail: String },
    /// The engine named by `--docker-host` / `DOCKER_HOST` did not answer at connection.
    #[error("cannot reach the Docker engine at `{url}` ({detail}); {check}")]
    Unreachable {
        url: String,
        detail: String,
        check: String,
    },
    #[error("engine call `{operation}` on `{object}` failed: {source}")]
    Call {
        operation: &'static str,
        object: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("engine call `{operation}` on `{object}` timed out after {}", humantime::format_duration(*.after))]
    Timeout {
        operation: &'static str,
        object: String,
        after: Duration,
    },
    #[error("cannot pull `{reference}`: {detail}")]
    Pull { reference: String, detail: String },
    #[error("building image `{reference}` failed: {detail}")]
    Build { reference: String, detail: String },
    #[error("importing root filesystem as `{reference}` failed: {detail}")]
    Import { reference: String, detail: String },
    #[error("container `{container}` has no address on network `{network}`")]
    NoAddress { container: String, network: String },
    #[error("{0}")]
    Other(String),
}

impl EngineError {
    /// True when the error means the engine itself is unreachable (exit 3 territory):
    /// it cannot be connected to, its connection broke, or it no longer answers even
    /// `info`.
    pub fn is_connection(&self) -> bool {
        match self {
            EngineError::Connect { .. } | EngineError::Unreachable { .. } => true,
            EngineError::Timeout { operation, .. } => matches!(*operation, "info" | "version"),
            EngineError::Call { source, .. } => lost_connection(source),
            _ => false,
        }
    }
}

fn lost_connection(error: &bollard::errors::Error) -> bool {
    use bollard::errors::Error;
    use std::io::ErrorKind;
    match error {
        Error::HyperLegacyError { err } => err.is_connect(),
        Error::HyperResponseError { err } => err.is_closed() || err.is_incomplete_message(),
        Error::IOError { err } => matches!(
            err.kind(),
            ErrorKind::ConnectionRefused
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::NotFound
                | ErrorKind::BrokenPipe
        ),
        Error::SocketNotFoundError(_) => true,
        _ => false,
    }
}
