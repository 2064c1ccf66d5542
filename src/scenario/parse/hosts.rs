//! `hosts:`: images, init, aliases, resources, environment and local files.

#[allow(unused_imports)]
use super::*;

pub(super) fn decode_hosts(d: &Decoder, node: &Spanned<Node>, allow_outside: bool) -> Vec<Host> {
    let Some(m) = d.open_map(node, "`hosts`") else {
        return Vec::new();
    };
    if m.is_empty() {
        d.error(m.mark(), "`hosts` must define at least one host");
    }
    m.entries()
        .filter_map(|(name, value)| {
            check_key_name(d, name, check_host_name);
            decode_host(d, &name.value, value, allow_outside)
        })
        .collect()
}

pub(super) fn decode_host(
    d: &Decoder,
    name: &str,
    node: &Spanned<Node>,
    allow_outside: bool,
) -> Option<Host> {
    let what = format!("host `{name}`");
    let m = d.map(node, &what, HOST_KEYS)?;
    // Every field is decoded before `?` so that one missing value does not hide
    // the mistakes in the others.
    let image = m.required_str_where("image", check_recipe_name);
    let init = m.opt_choice("init", INITS).unwrap_or_default();
    let aliases = m.opt("aliases").map(|node| decode_aliases(d, node));
    let memory = m.opt_byte_size("memory");
    let cpus = m.opt_positive_number("cpus");
    let pids = m.opt_int_in("pids", 16..=1_000_000);
    let env = m.opt("env").map(|node| decode_env(d, node, &what));
    let files = m
        .opt("files")
        .map(|node| decode_host_files(d, node, &what, allow_outside));
    Some(Host {
        name: name.to_string(),
        image: image?,
        init,
        aliases: aliases.unwrap_or_default(),
        memory,
        cpus,
        pids,
        env: env.unwrap_or_default(),
        files: files.unwrap_or_default(),
    })
}

pub(super) fn decode_file_limits(d: &Decoder, node: &Spanned<Node>) -> FileLimits {
    let Some(m) = d.map(node, "`file_limits`", FILE_LIMITS_KEYS) else {
        return FileLimits::default();
    };
    FileLimits {
        per_file: m
            .opt_byte_size("per_file")
            .unwrap_or(FileLimits::DEFAULT_PER_FILE),
        total: m
            .opt_byte_size("total")
            .unwrap_or(FileLimits::DEFAULT_TOTAL),
    }
}

pub(super) fn decode_host_files(
    d: &Decoder,
    node: &Spanned<Node>,
    host: &str,
    allow_outside: bool,
) -> Vec<HostFile> {
    d.list_of(node, "`files`", |index, item| {
        let m = d.map(item, &format!("file {} of {host}", index + 1), HOST_FILE_KEYS)?;
        let src = m.required("src").and_then(|node| {
            let src = d.str(node, "`src`")?;
            match check_local_source(&src, allow_outside) {
                Ok(()) => Some(src),
                Err(message) => {
                    d.error_with_help(
                        Mark::of(node),
                        message,
                        "name a file inside the scenario's folder, or set `allow_files_outside: true` at the top of the scenario",
                    );
                    None
                }
            }
        });
        let dest = m.required_str_where("dest", check_host_destination);
        let mode = m
            .opt("mode")
            .map(|node| d.mode(node));
        Some(HostFile {
            src: src?.into(),
            dest: dest?,
            mode: match mode {
                Some(mode) => mode?,
                None => 0o644,
            },
        })
    })
    .unwrap_or_default()
}

/// Relative to the scenario's folder and not leaving it, unless allowed.
pub(super) fn check_local_source(src: &str, allow_outside: bool) -> Result<(), String> {
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

pub(super) fn check_host_destination(dest: &str) -> Result<(), String> {
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

pub(super) fn decode_aliases(d: &Decoder, node: &Spanned<Node>) -> Vec<String> {
    d.list_of(node, "`aliases`", |_, item| {
        d.str_where(item, "an item of `aliases`", check_hostname)
    })
    .unwrap_or_default()
}

pub(super) fn decode_env(d: &Decoder, node: &Spanned<Node>, host: &str) -> Vec<(String, String)> {
    let Some(m) = d.open_map(node, &format!("`env` of {host}")) else {
        return Vec::new();
    };
    m.entries()
        .filter_map(|(key, value)| {
            check_key_name(d, key, check_env_name);
            let text = d.scalar_text(value, &format!("`{}`", key.value))?;
            Some((key.value.clone(), text))
        })
        .collect()
}
