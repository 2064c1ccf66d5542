//! Why a capture could not be written.

use std::path::PathBuf;

use super::archive::BundleError;

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("`{}` already exists; pass --force to replace it, or choose another name with -o", path.display())]
    Exists { path: PathBuf },
    #[error("`{}` exists from an interrupted capture; remove it and capture again", path.display())]
    PartialExists { path: PathBuf },
    #[error("cannot read `{}`: {source}; is this a Debian host?", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot move `{}` to `{}`: {source}", from.display(), to.display())]
    Rename {
        from: PathBuf,
        to: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Bundle(#[from] BundleError),
}
