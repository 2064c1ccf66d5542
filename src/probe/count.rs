//! A count read from a host: a command that prints one number (rows of a table, files
//! of a folder), as drills use it to tell whether a repair kept the data.

use std::time::Duration;

use crate::engine::Engine;
use crate::scenario::Command;

/// How long the data count may take.
const COUNT_TIMEOUT: Duration = Duration::from_secs(60);

/// Run a data `count` in a host: the one number it prints, or why there is none.
pub async fn count<E: Engine>(
    engine: &E,
    container: &str,
    host: &str,
    command: &Command,
) -> Result<u64, String> {
    let output = engine
        .exec(container, &command.to_argv(), COUNT_TIMEOUT)
        .await
        .map_err(|e| format!("cannot count the data on `{host}`: {e}"))?;
    if output.exit_code != 0 {
        // The client's last line says why (`ERROR 1146 … Table 'shop.orders' doesn't exist`).
        let said = format!("{}\n{}", output.stdout, output.stderr);
        let why = said
            .lines()
            .map(str::trim)
            .rfind(|line| !line.is_empty())
            .unwrap_or("no output");
        return Err(format!(
            "the data count on `{host}` exited with {}: {}",
            output.exit_code,
            super::excerpt(why, 200)
        ));
    }
    parse_count(&output.stdout).ok_or_else(|| {
        format!(
            "the data count on `{host}` printed `{}`, not a number",
            super::excerpt(&output.stdout, 80)
        )
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
