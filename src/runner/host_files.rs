//! Reading and writing whole files on a host through `exec` (base64 in the argument
//! list, so content never goes through a shell's quoting).

use std::time::Duration;

use base64::Engine as _;

use crate::engine::{Engine, EngineError};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Why a file of a host could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum HostFileError {
    #[error("cannot read `{path}`: {source}")]
    ReadExec {
        path: String,
        #[source]
        source: EngineError,
    },
    /// The read ran and failed; `said` is its stderr, trimmed.
    #[error("cannot read `{path}`: {said}")]
    ReadFailed { path: String, said: String },
    #[error("cannot read `{path}`: {source}")]
    Decode {
        path: String,
        #[source]
        source: base64::DecodeError,
    },
    #[error("cannot write `{path}`: {source}")]
    WriteExec {
        path: String,
        #[source]
        source: EngineError,
    },
    /// The write ran and failed; `said` is its stderr, trimmed.
    #[error("cannot write `{path}`: {said}")]
    WriteFailed { path: String, said: String },
}

pub async fn read<E: Engine>(
    engine: &E,
    container: &str,
    path: &str,
) -> Result<String, HostFileError> {
    let argv = [
        "sh".to_string(),
        "-c".into(),
        "base64 -w0 \"$1\"".into(),
        "sh".into(),
        path.to_string(),
    ];
    let output = engine
        .exec(container, &argv, TIMEOUT)
        .await
        .map_err(|source| HostFileError::ReadExec {
            path: path.to_string(),
            source,
        })?;
    if output.exit_code != 0 {
        return Err(HostFileError::ReadFailed {
            path: path.to_string(),
            said: output.stderr.trim().to_string(),
        });
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(output.stdout.trim())
        .map_err(|source| HostFileError::Decode {
            path: path.to_string(),
            source,
        })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

pub async fn write<E: Engine>(
    engine: &E,
    container: &str,
    path: &str,
    text: &str,
) -> Result<(), HostFileError> {
    write_bytes(engine, container, path, text.as_bytes()).await
}

/// Most base64 put in one argument: the kernel refuses a single argument over 128 KiB.
const CHUNK: usize = 64 * 1024;

/// Write `bytes` into `path` through the existing file (`> path`), so its mode, owner
/// and inode stay — a file the engine bind-mounts, such as `/etc/hosts`, included.
/// Content too large for one argument goes in chunks to a temporary file first.
pub async fn write_bytes<E: Engine>(
    engine: &E,
    container: &str,
    path: &str,
    bytes: &[u8],
) -> Result<(), HostFileError> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let run = |script: &str, args: Vec<String>| {
        let mut argv = vec![
            "sh".to_string(),
            "-c".into(),
            script.to_string(),
            "sh".into(),
        ];
        argv.extend(args);
        async move {
            let output = engine
                .exec(container, &argv, TIMEOUT)
                .await
                .map_err(|source| HostFileError::WriteExec {
                    path: path.to_string(),
                    source,
                })?;
            if output.exit_code != 0 {
                return Err(HostFileError::WriteFailed {
                    path: path.to_string(),
                    said: output.stderr.trim().to_string(),
                });
            }
            Ok(output.stdout)
        }
    };
    if encoded.len() <= CHUNK {
        run(
            "printf %s \"$2\" | base64 -d > \"$1\"",
            vec![path.to_string(), encoded],
        )
        .await?;
        return Ok(());
    }
    let part = run("mktemp", vec![]).await?.trim().to_string();
    for chunk in encoded.as_bytes().chunks(CHUNK) {
        let chunk = String::from_utf8_lossy(chunk).into_owned();
        if let Err(e) = run("printf %s \"$2\" >> \"$1\"", vec![part.clone(), chunk]).await {
            let _ = run("rm -f \"$1\"", vec![part]).await;
            return Err(e);
        }
    }
    run(
        "base64 -d \"$2\" > \"$1\"; status=$?; rm -f \"$2\"; exit $status",
        vec![path.to_string(), part],
    )
    .await?;
    Ok(())
}
