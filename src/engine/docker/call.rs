//! How every bollard call is made: bounded in time, with its error classified as the
//! engine being unreachable or the call failing, and "not found" told apart where
//! that is success.

use std::time::Duration;

use crate::engine::EngineError;

pub(super) fn call_err(
    operation: &'static str,
    object: &str,
) -> impl FnOnce(bollard::errors::Error) -> EngineError {
    let object = object.to_string();
    move |source| classify(operation, object, source)
}

/// Connection-level failures become [`EngineError::Connect`] so callers can exit with 3.
fn classify(
    operation: &'static str,
    object: String,
    source: bollard::errors::Error,
) -> EngineError {
    use bollard::errors::Error as B;
    match &source {
        B::HyperResponseError { .. } | B::IOError { .. } | B::RequestTimeoutError => {
            EngineError::Connect {
                detail: format!("`{operation}` on `{object}`: {source}"),
            }
        }
        _ => EngineError::Call {
            operation,
            object,
            source,
        },
    }
}

pub(super) async fn within<T>(
    operation: &'static str,
    object: &str,
    limit: Duration,
    fut: impl Future<Output = Result<T, bollard::errors::Error>>,
) -> Result<T, EngineError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result.map_err(call_err(operation, object)),
        Err(_) => Err(EngineError::Timeout {
            operation,
            object: object.to_string(),
            after: limit,
        }),
    }
}

pub(super) fn is_not_found(err: &EngineError) -> bool {
    matches!(
        err,
        EngineError::Call {
            source: bollard::errors::Error::DockerResponseServerError {
                status_code: 404,
                ..
            },
            ..
        }
    )
}

/// Removing something already gone is success: cleanup may race with `gc` or the engine.
pub(super) fn ignore_not_found(result: Result<(), EngineError>) -> Result<(), EngineError> {
    match result {
        Err(e) if is_not_found(&e) => Ok(()),
        other => other,
    }
}

/// Whether `err` says another caller is already removing the object.
pub(super) fn is_removal_in_progress(error: &EngineError) -> bool {
    is_conflict(error, "already in progress")
}

/// Whether `err` is the engine's conflict (409) whose message says `saying`.
pub(super) fn is_conflict(error: &EngineError, saying: &str) -> bool {
    matches!(
        error,
        EngineError::Call {
            source: bollard::errors::Error::DockerResponseServerError {
                status_code: 409,
                message,
            },
            ..
        } if message.contains(saying)
    )
}
