//! Reading and writing whole files on a host through `exec` (base64 in the argument
//! list, so content never goes through a shell's quoting).

use std::time::Duration;

use base64::Engine as _;

use crate::engine::Engine;

const TIMEOUT: Duration = Duration::from_secs(60);

pub async fn read<E: Engine>(engine: &E, container: &str, path: &str) -> Result<String, String> {
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
        .map_err(|e| format!("cannot read `{path}`: {e}"))?;
    if output.exit_code != 0 {
        return Err(format!("cannot read `{path}`: {}", output.stderr.trim()));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(output.stdout.trim())
        .map_err(|e| format!("cannot read `{path}`: {e}"))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

pub async fn write<E: Engine>(
    engine: &E,
    container: &str,
    path: &str,
    text: &str,
) -> Result<(), String> {
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
) -> Result<(), String> {
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
                .map_err(|e| format!("cannot write `{path}`: {e}"))?;
            if output.exit_code != 0 {
                return Err(format!("cannot write `{path}`: {}", output.stderr.trim()));
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
