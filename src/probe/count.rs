//! A count read from a host: a command that prints one number (rows of a table, files
//! of a folder), as drills use it to tell whether a repair kept the data.

use std::time::Duration;

use crate::engine::{Engine, EngineError};
use crate::scenario::Command;

/// Why a data count gave no number.
#[derive(Debug, thiserror::Error)]
pub enum CountError {
    #[error("cannot count the data on `{host}`: {source}")]
    Exec {
        host: String,
        #[source]
        source: EngineError,
    },
    /// The command failed; `said` is the last line it printed, shortened.
    #[error("the data count on `{host}` exited with {exit_code}: {said}")]
    Exited {
        host: String,
        exit_code: i64,
        said: String,
    },
    /// The command printed something else than a number (shortened).
    #[error("the data count on `{host}` printed `{printed}`, not a number")]
    NotANumber { host: String, printed: String },
}

/// How long the data count may take.
const COUNT_TIMEOUT: Duration = Duration::from_secs(60);

/// Run a data `count` in a host: the one number it prints, or why there is none.
pub async fn count<E: Engine>(
    engine: &E,
    container: &str,
    host: &str,
    command: &Command,
) -> Result<u64, CountError> {
    let output = engine
        .exec(container, &command.to_argv(), COUNT_TIMEOUT)
        .await
        .map_err(|source| CountError::Exec {
            host: host.to_string(),
            source,
        })?;
    if output.exit_code != 0 {
        // The client's last line says why (`ERROR 1146 … Table 'shop.orders' doesn't exist`).
        let said = format!("{}\n{}", output.stdout, output.stderr);
        let why = said
            .lines()
            .map(str::trim)
            .rfind(|line| !line.is_empty())
            .unwrap_or("no output");
        return Err(CountError::Exited {
            host: host.to_string(),
            exit_code: output.exit_code,
            said: super::excerpt(why, 200),
        });
    }
    parse_count(&output.stdout).ok_or_else(|| CountError::NotANumber {
        host: host.to_string(),
        printed: super::excerpt(&output.stdout, 80),
    })
}

/// The last non-empty line, as a number (clients may print a header first).
fn parse_count(stdout: &str) -> Option<u64> {
    stdout
        .lines()
        .map(str::trim)
        .rfind(|line| !line.is_empty())?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_the_last_number_printed() {
        assert_eq!(parse_count("503\n"), Some(503));
        assert_eq!(parse_count("count\n  12 \n\n"), Some(12));
        assert_eq!(parse_count("ERROR 2002"), None);
        assert_eq!(parse_count(""), None);
    }
}
