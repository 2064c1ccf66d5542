//! A YAML file's bytes as text: UTF-8, or an error at the first byte that is not.

use std::path::Path;

use super::diagnostic::{Diagnostic, Diagnostics, Mark};

/// `bytes` (read from `path`) as text; if they are not UTF-8, one diagnostic with the
/// byte offset of the first bad byte, shown at its line and column.
pub fn source_text<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a str, Diagnostics> {
    let error = match std::str::from_utf8(bytes) {
        Ok(text) => return Ok(text),
        Err(error) => error,
    };
    let offset = error.valid_up_to();
    // Everything before the bad byte is UTF-8.
    let before = String::from_utf8_lossy(&bytes[..offset]);
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    let mark = Mark::new(
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
        1,
    );
    let diagnostic = Diagnostic::new(
        mark,
        format!("invalid UTF-8: byte 0x{:02X} at byte offset {offset}", bytes[offset]),
    )
    .with_help("YAML files are UTF-8: convert it, from Latin-1 for example with `iconv -f latin1 -t utf-8`");
    let shown = String::from_utf8_lossy(bytes);
    Err(Diagnostics::new(path, &shown, vec![diagnostic]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_the_text() {
        let text = source_text(Path::new("s.yaml"), "name: café\n".as_bytes()).unwrap();
        assert_eq!(text, "name: café\n");
    }

    #[test]
    fn the_first_bad_byte_is_given_by_offset_line_and_column() {
        // Latin-1 `é` (0xE9) after a UTF-8 `é` on line 2.
        let bytes = b"name: x\ndescription: \xc3\xa9t\xe9\n";
        let error = source_text(Path::new("s.yaml"), bytes).unwrap_err();
        let expected = "\
error: invalid UTF-8: byte 0xE9 at byte offset 24
 --> s.yaml:2:16
  |
2 | description: ét\u{FFFD}
  |                ^
  |
  = help: YAML files are UTF-8: convert it, from Latin-1 for example with `iconv -f latin1 -t utf-8`

1 error in s.yaml";
        assert_eq!(error.to_string(), expected);
    }
}
