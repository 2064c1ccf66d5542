//! An image recipe parsed from `images/<name>/recipe.yaml`, with every problem
//! reported at once. No I/O: the caller reads the file and later resolves
//! [`RecipeFile::src`] against the recipe's directory.

use std::path::{Component, Path, PathBuf};

use serde_saphyr::Spanned;

use crate::yaml::{Decoder, Diagnostics, Node, load};

pub(crate) const RECIPE_KEYS: &[&str] = &[
    "description",
    "suite",
    "architecture",
    "packages",
    "files",
    "commands",
    "enable",
    "overlay",
    "held",
    "auto",
];
pub(crate) const FILE_KEYS: &[&str] = &["src", "dest", "mode"];

/// How to build one image on top of a Debian base.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipe {
    pub description: Option<String>,
    /// Debian suite codename of the base (`bookworm`).
    pub suite: String,
    /// Debian architecture of the replica (`i386`) when it is not the engine's: one
    /// the engine's CPU runs natively (see [`runs_natively`]).
    pub architecture: Option<String>,
    /// Packages to install, optionally pinned as `name=version`.
    pub packages: Vec<String>,
    pub files: Vec<RecipeFile>,
    /// Shell lines run at build time, in order.
    pub commands: Vec<String>,
    /// systemd units to enable.
    pub enable: Vec<String>,
    /// A folder of the recipe copied onto `/` after the packages are installed, modes
    /// and symbolic links kept (what `rehearse import` writes for a captured `/etc`).
    pub overlay: Option<PathBuf>,
    /// Packages held (`apt-mark hold`) once installed.
    pub held: Vec<String>,
    /// Packages marked as installed automatically (`apt-mark auto`) once installed, as
    /// on the host they were captured from.
    pub auto: Vec<String>,
}

/// A file copied from the recipe directory into the image.
#[derive(Debug, Clone, PartialEq)]
pub struct RecipeFile {
    /// Relative to the recipe's directory, never leaving it.
    pub src: PathBuf,
    /// Absolute path in the image.
    pub dest: String,
    /// Permission bits, when given.
    pub mode: Option<u32>,
}

/// Parses and validates a recipe; `path` is only used in messages.
pub fn parse(path: &Path, source: &str) -> Result<Recipe, Diagnostics> {
    let root = load(source).map_err(|error| Diagnostics::new(path, source, vec![error]))?;
    let decoder = Decoder::new();
    let recipe = decode_recipe(&decoder, &root);
    decoder.finish(path, source, recipe)
}

fn decode_recipe(d: &Decoder, root: &Spanned<Node>) -> Option<Recipe> {
    let m = d.map(root, "the recipe", RECIPE_KEYS)?;
    let description = m.opt_str("description");
    let suite = m.required_str_where("suite", check_suite);
    let architecture = m.opt_str_where("architecture", check_architecture);
    let packages = strings(d, m.opt("packages"), "packages", check_package);
    let files = m
        .opt("files")
        .map(|node| decode_files(d, node))
        .unwrap_or_default();
    let commands = strings(d, m.opt("commands"), "commands", check_command);
    let enable = strings(d, m.opt("enable"), "enable", check_unit);
    let overlay = m.opt_str_where("overlay", check_overlay_path);
    let held = strings(d, m.opt("held"), "held", check_package_name);
    let auto = strings(d, m.opt("auto"), "auto", check_package_name);
    Some(Recipe {
        description,
        suite: suite?,
        architecture,
        packages,
        files,
        commands,
        enable,
        overlay: overlay.map(PathBuf::from),
        held,
        auto,
    })
}

/// An optional list of strings, each checked at its own position.
fn strings(
    d: &Decoder,
    node: Option<&Spanned<Node>>,
    key: &str,
    check: fn(&str) -> Result<(), String>,
) -> Vec<String> {
    let Some(node) = node else {
        return Vec::new();
    };
    let item_label = format!("an item of `{key}`");
    d.list_of(node, &format!("`{key}`"), |_, item| {
        d.str_where(item, &item_label, check)
    })
    .unwrap_or_default()
}

fn decode_files(d: &Decoder, node: &Spanned<Node>) -> Vec<RecipeFile> {
    d.list_of(node, "`files`", |index, item| decode_file(d, index, item))
        .unwrap_or_default()
}

fn decode_file(d: &Decoder, index: usize, node: &Spanned<Node>) -> Option<RecipeFile> {
    let m = d.map(node, &format!("file {}", index + 1), FILE_KEYS)?;
    let src = m.required_str_where("src", check_source_path);
    let dest = m.required_str_where("dest", check_destination);
    let mode = m.opt("mode").and_then(|node| d.mode(node));
    Some(RecipeFile {
        src: PathBuf::from(src?),
        dest: dest?,
        mode,
    })
}

fn check_suite(suite: &str) -> Result<(), String> {
    let ok = !suite.is_empty() && suite.chars().all(|c| c.is_ascii_lowercase());
    ok.then_some(()).ok_or_else(|| {
        format!("invalid suite `{suite}`: expected a Debian codename like `bookworm`")
    })
}

/// Debian's architectures (the release notes' concern: those a release drops).
pub const ARCHITECTURES: &[&str] = &[
    "amd64", "arm64", "armel", "armhf", "i386", "mips64el", "mipsel", "ppc64el", "riscv64", "s390x",
];

fn check_architecture(arch: &str) -> Result<(), String> {
    ARCHITECTURES.contains(&arch).then_some(()).ok_or_else(|| {
        format!(
            "unknown architecture `{arch}`: expected one of Debian's: {}",
            ARCHITECTURES.join(", ")
        )
    })
}

/// Whether an engine on `engine` (a Debian architecture) runs `wanted`'s programs
/// without emulation: its own, and the 32-bit one its CPU and kernel also run.
pub fn runs_natively(engine: &str, wanted: &str) -> bool {
    engine == wanted
        || matches!(
            (engine, wanted),
            ("amd64", "i386") | ("arm64", "armhf") | ("arm64", "armel")
        )
}

/// `name` or `name=version`, with Debian's package name syntax.
fn check_package(package: &str) -> Result<(), String> {
    let (name, version) = match package.split_once('=') {
        Some((name, version)) => (name, Some(version)),
        None => (package, None),
    };
    let name_ok = name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-".contains(c));
    // Debian's version syntax (`[epoch:]upstream[-revision]`): nothing a shell reads
    // as anything but a word, since the name goes into the bootstrap's apt command.
    let version_ok = version.is_none_or(|v| {
        v.starts_with(|c: char| c.is_ascii_digit())
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".+~:-".contains(c))
    });
    (name_ok && version_ok).then_some(()).ok_or_else(|| {
        format!(
            "invalid package `{package}`: expected a Debian package name, optionally `=version`"
        )
    })
}

fn check_package_name(package: &str) -> Result<(), String> {
    if package.contains('=') {
        return Err(format!(
            "invalid package `{package}`: expected a package name without a version"
        ));
    }
    check_package(package)
}

fn check_command(command: &str) -> Result<(), String> {
    (!command.trim().is_empty())
        .then_some(())
        .ok_or_else(|| "a command must not be empty".to_string())
}

fn check_unit(unit: &str) -> Result<(), String> {
    let ok = !unit.is_empty() && !unit.contains(|c: char| c.is_whitespace() || c == '/');
    ok.then_some(())
        .ok_or_else(|| format!("invalid unit name `{unit}`"))
}

/// Relative to the recipe directory and staying inside it.
fn check_source_path(src: &str) -> Result<(), String> {
    let path = Path::new(src);
    if src.is_empty() || path.is_absolute() {
        return Err(format!(
            "invalid `src` `{src}`: expected a path relative to the recipe directory"
        ));
    }
    if path
        .components()
        .any(|part| matches!(part, Component::ParentDir))
    {
        return Err(format!(
            "invalid `src` `{src}`: `..` would leave the recipe directory"
        ));
    }
    Ok(())
}

fn check_overlay_path(overlay: &str) -> Result<(), String> {
    check_source_path(overlay).map_err(|e| e.replacen("`src`", "`overlay`", 1))
}

fn check_destination(dest: &str) -> Result<(), String> {
    dest.starts_with('/')
        .then_some(())
        .ok_or_else(|| format!("invalid `dest` `{dest}`: expected an absolute path in the image"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_recipe_parses() {
        let source = include_str!("../../images/static-site/recipe.yaml");
        let recipe = parse(Path::new("images/static-site/recipe.yaml"), source)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(recipe.suite, "bookworm");
        assert_eq!(recipe.packages, ["apache2"]);
        assert_eq!(recipe.enable, ["apache2"]);
        assert_eq!(
            recipe.files,
            [RecipeFile {
                src: PathBuf::from("files/index.html"),
                dest: "/var/www/html/index.html".into(),
                mode: Some(0o644),
            }]
        );
    }

    #[test]
    fn a_pinned_version_is_debian_version_syntax_and_nothing_a_shell_reads() {
        for good in [
            "apache2",
            "php=8.2",
            "libc6=2.31-13+deb11u11",
            "x11-common=1:7.7+23",
        ] {
            assert_eq!(check_package(good), Ok(()), "{good}");
        }
        for bad in [
            "php=",
            "php=v1",
            "php=1;reboot",
            "php=1$(id)",
            "php=1'x",
            "php=1`id`",
        ] {
            assert!(check_package(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_architecture_is_one_of_debians_and_runs_natively_or_not_at_all() {
        let recipe = parse(Path::new("r.yaml"), "suite: bookworm\narchitecture: i386\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(recipe.architecture.as_deref(), Some("i386"));
        let errors = parse(Path::new("r.yaml"), "suite: bookworm\narchitecture: x86\n")
            .unwrap_err()
            .to_string();
        assert!(errors.contains("unknown architecture `x86`"), "{errors}");
        assert!(errors.contains("r.yaml:2"), "{errors}");
        assert!(runs_natively("amd64", "i386") && runs_natively("arm64", "armhf"));
        assert!(!runs_natively("amd64", "mipsel") && !runs_natively("i386", "amd64"));
    }

    #[test]
    fn shipped_page_has_the_probed_text() {
        let page = include_str!("../../images/static-site/files/index.html");
        assert!(page.contains("Hello from the rehearse replica"));
    }

    #[test]
    fn every_problem_is_reported_with_its_position() {
        let source = "\
suite: Bookworm
packages: [apache2, 'Bad Name', php=8.2]
files:
  - {src: ../etc/passwd, dest: etc/x, mode: 0644}
  - {src: files/a, dest: /a, mod: '0644'}
comands: [true]
";
        let errors = parse(Path::new("r.yaml"), source).unwrap_err().errors;
        let found: Vec<_> = errors
            .iter()
            .map(|e| (e.line, e.column, e.message.as_str(), e.help.as_deref()))
            .collect();
        assert_eq!(
            found,
            [
                (
                    1,
                    8,
                    "invalid suite `Bookworm`: expected a Debian codename like `bookworm`",
                    None
                ),
                (
                    2,
                    21,
                    "invalid package `Bad Name`: expected a Debian package name, optionally `=version`",
                    None
                ),
                (
                    4,
                    11,
                    "invalid `src` `../etc/passwd`: `..` would leave the recipe directory",
                    None
                ),
                (
                    4,
                    32,
                    "invalid `dest` `etc/x`: expected an absolute path in the image",
                    None
                ),
                (
                    4,
                    45,
                    "expected an octal string for `mode`, found a number",
                    Some("quote it, like `mode: \"0644\"`")
                ),
                (
                    5,
                    30,
                    "unknown key `mod` in file 2",
                    Some("did you mean `mode`?")
                ),
                (
                    6,
                    1,
                    "unknown key `comands` in the recipe",
                    Some("did you mean `commands`?")
                ),
            ]
        );
    }
}
