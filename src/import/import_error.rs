//! Why an import could not be written.

use std::path::PathBuf;

use crate::capture::BundleError;
use crate::images::ImageError;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Bundle(#[from] BundleError),
    #[error(transparent)]
    Invalid(#[from] super::InvalidValue),
    #[error("`{}` already exists; pass --force to replace it, or --name to import under another name", path.display())]
    Exists { path: PathBuf },
    #[error(
        "the bundle's host runs `{id}` `{codename}`, not a Debian release rehearse knows ({known}); only Debian hosts can be imported"
    )]
    UnknownRelease {
        id: String,
        codename: String,
        known: String,
    },
    #[error(
        "invalid name `{name}`: use lowercase letters, digits and `-`, starting with a letter, at most 31 characters"
    )]
    InvalidName { name: String },
    #[error("cannot write `{}`: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the bundle lists `{path}` but holds no contents for it; capture again")]
    MissingContents { path: String },
    #[error(
        "checking the captured versions against the mirror failed: {0}; pass --no-mirror-check to import without pinning versions"
    )]
    Mirror(#[source] ImageError),
}
