//! The report of a run: the data behind `report.json` and the reporters that render
//! events and reports for people.

pub mod diff;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod matrix;
pub mod terminal;
mod text;

pub use crate::model::report::*;

/// The files of a report folder besides `report.json`, each rendered from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Markdown,
    Junit,
}

impl Format {
    pub const ALL: [Format; 3] = [Format::Html, Format::Markdown, Format::Junit];

    /// The file's name in a report folder.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Html => "report.html",
            Format::Markdown => "report.md",
            Format::Junit => "junit.xml",
        }
    }

    pub fn render(self, report: &Report, out: &mut impl std::io::Write) -> std::io::Result<()> {
        match self {
            Format::Html => html::render_html(report, out),
            Format::Markdown => markdown::render_markdown(report, out),
            Format::Junit => junit::render_junit(report, out),
        }
    }
}

/// Write one rendered format into `dir`; returns the file's path.
pub fn write_format(dir: &Path, report: &Report, format: Format) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format.file_name());
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    format.render(report, &mut out)?;
    std::io::Write::flush(&mut out)?;
    Ok(path)
}

/// Write `report.json` and every rendered format into `dir`; returns the paths.
pub fn write_all(dir: &Path, report: &Report) -> std::io::Result<Vec<PathBuf>> {
    let mut paths = vec![write_json(dir, report)?];
    for format in Format::ALL {
        paths.push(write_format(dir, report, format)?);
    }
    Ok(paths)
}

use std::path::{Path, PathBuf};

/// The JSON Schema of `report.json` (draft 2020-12), generated from the types that
/// write it, so the two cannot drift apart.
pub fn json_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Report)).unwrap_or_default();
    if let Some(object) = schema.as_object_mut() {
        object.insert(
            "$id".into(),
            "https://rehearse.invalid/report.schema.json".into(),
        );
        object.insert(
            "description".into(),
            format!("A rehearse report, schema_version {SCHEMA_VERSION}.").into(),
        );
    }
    schema
}

/// Why a report could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadReportError {
    #[error("cannot read `{}`: {source}", file.display())]
    Read {
        file: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "`{}` is not a rehearse report (line {}, column {}): {source}",
        file.display(),
        source.line(),
        source.column()
    )]
    NotAReport {
        file: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("`{}` has schema_version {found}, this rehearse reads {}", file.display(), SCHEMA_VERSION)]
    SchemaVersion { file: PathBuf, found: u32 },
}

/// Read a report back from `report.json`, or from the report folder holding it.
pub fn read_json(path: &Path) -> Result<Report, ReadReportError> {
    let file = if path.is_dir() {
        path.join("report.json")
    } else {
        path.to_path_buf()
    };
    let text = match crate::input_file::read_to_string(&file, crate::input_file::REPORT) {
        Ok(text) => text,
        Err(source) => return Err(ReadReportError::Read { file, source }),
    };
    let report: Report = match serde_json::from_str(&text) {
        Ok(report) => report,
        Err(source) => return Err(ReadReportError::NotAReport { file, source }),
    };
    if report.schema_version != SCHEMA_VERSION {
        return Err(ReadReportError::SchemaVersion {
            file,
            found: report.schema_version,
        });
    }
    Ok(report)
}

/// Write `report.json` into `dir` (created if needed); returns the file's path.
pub fn write_json(dir: &Path, report: &Report) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("report.json");
    let mut text = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    text.push('\n');
    std::fs::write(&path, text)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_reports_read_back_and_write_the_same() {
        for text in [
            include_str!("../../tests/fixtures/reports/move-naive.json"),
            include_str!("../../tests/fixtures/reports/lamp-upgrade.json"),
            include_str!("../../tests/fixtures/reports/smoke-broken.json"),
            include_str!("../../tests/fixtures/reports/restore-shop.json"),
        ] {
            let report: Report = serde_json::from_str(text).unwrap();
            let again: serde_json::Value = serde_json::to_value(&report).unwrap();
            let original: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(again, original, "{}", report.scenario);
        }
    }

    #[test]
    fn real_reports_are_valid_against_the_report_schema() {
        let validator = jsonschema::validator_for(&json_schema()).unwrap();
        for text in [
            include_str!("../../tests/fixtures/reports/move-naive.json"),
            include_str!("../../tests/fixtures/reports/lamp-upgrade.json"),
            include_str!("../../tests/fixtures/reports/smoke-broken.json"),
            include_str!("../../tests/fixtures/reports/restore-shop.json"),
        ] {
            let report: serde_json::Value = serde_json::from_str(text).unwrap();
            let errors: Vec<String> = validator
                .iter_errors(&report)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            assert!(errors.is_empty(), "{}: {errors:#?}", report["scenario"]);
        }
        // And the schema rejects what is not a report.
        let mut broken: serde_json::Value = serde_json::from_str(include_str!(
            "../../tests/fixtures/reports/smoke-broken.json"
        ))
        .unwrap();
        broken["verdict"] = "MAYBE".into();
        assert!(!validator.is_valid(&broken));
    }

    #[test]
    fn the_report_schema_names_the_contract_fields() {
        let schema = json_schema();
        let required = schema["required"].as_array().unwrap();
        for field in [
            "schema_version",
            "scenario",
            "verdict",
            "started_at",
            "duration_ms",
            "steps",
            "probes",
            "findings",
            "gates",
        ] {
            assert!(required.iter().any(|r| r == field), "{field}");
        }
    }
}
