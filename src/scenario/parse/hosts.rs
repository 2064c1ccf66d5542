//! `hosts:`: images, init, aliases, resources, environment and local files.

#[allow(unused_imports)]
use super::*;

/// Relative to the scenario's folder and not leaving it, unless allowed.
pub(in crate::scenario) fn check_local_source(
    src: &str,
    allow_outside: bool,
) -> Result<(), String> {
    if src.is_empty() {
        return Err("`src` must name a file".into());
    }
    if allow_outside {
        return Ok(());
    }
    if src.starts_with('/') {
        return Err(format!(
            "invalid `src` `{src}`: expected a path relative to the scenario's folder"
        ));
    }
    if src.split('/').any(|part| part == "..") {
        return Err(format!(
            "invalid `src` `{src}`: `..` would leave the scenario's folder"
        ));
    }
    Ok(())
}

pub(in crate::scenario) fn check_host_destination(dest: &str) -> Result<(), String> {
    if !dest.starts_with('/') || dest.ends_with('/') {
        return Err(format!(
            "invalid `dest` `{dest}`: expected the absolute path of a file in the host"
        ));
    }
    if dest.split('/').any(|part| part == "..") {
        return Err(format!("invalid `dest` `{dest}`: contains `..`"));
    }
    Ok(())
}
