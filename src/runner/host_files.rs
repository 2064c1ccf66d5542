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
    let encoded = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    let argv = [
        "sh".to_string(),
        "-c".into(),
        "printf %s \"$2\" | base64 -d > \"$1\"".into(),
        "sh".into(),
        path.to_string(),
        encoded,
    ];
    let output = engine
        .exec(container, &argv, TIMEOUT)
        .await
        .map_err(|e| format!("cannot write `{path}`: {e}"))?;
    if output.exit_code != 0 {
        return Err(format!("cannot write `{path}`: {}", output.stderr.trim()));
    }
    Ok(())
}
