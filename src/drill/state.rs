//! What a running drill remembers between commands: which replica is its, when the
//! trainee was briefed, how many times the checks ran, how many hints were shown.
//!
//! One JSON file, written atomically (a temporary file renamed over it), so that
//! `rehearse drill status` and `rehearse shell` from any terminal find the drill.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::probe::{HostAddresses, Reach};

/// A drill in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillState {
    /// The drill scenario's name.
    pub scenario: String,
    /// The drill file (absolute), read again by `status` for its checks and hints.
    pub scenario_path: PathBuf,
    /// The run that built the replica; its resources carry this `rehearse.run` label.
    pub run_id: String,
    pub network: String,
    /// The engine's machine, when the hosts are probed through published ports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<IpAddr>,
    pub hosts: Vec<DrillHost>,
    /// When the briefing was shown: the time to repair counts from here.
    pub briefed_at: jiff::Timestamp,
    /// Times the checks ran (`drill status`).
    pub attempts: u32,
    /// Hints shown so far.
    pub hints_used: u32,
    /// The drill's data counted before the incident, when the drill counts data.
    pub baseline: Option<u64>,
    /// Where the report of each attempt goes.
    pub report_dir: PathBuf,
    /// Set the first time every check passed.
    pub solved: Option<Solved>,
    /// The engine the replica runs on (its URL), so that later commands given another
    /// one say so instead of finding no replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
}

/// A host of the drill's replica.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrillHost {
    pub name: String,
    pub container_id: String,
    pub address: IpAddr,
    /// How the checks reach it (published ports on a remote engine).
    #[serde(default, skip_serializing_if = "Reach::is_direct")]
    pub reach: Reach,
}

/// The first time every check passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Solved {
    pub at: jiff::Timestamp,
    /// Check attempts it took, that one included.
    pub attempts: u32,
    pub hints_used: u32,
    /// Rows lost, when the drill counts data.
    pub data_lost: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "no drill is running (no state file `{path}`): start one with `rehearse drill FILE`",
        path = path.display()
    )]
    NoDrill { path: PathBuf },
    #[error("cannot read the drill state `{path}`: {source}", path = path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the drill state `{path}` is not readable ({source}); remove it, then remove the drill's replica with `rehearse gc` (which also removes other replicas whose run has ended, such as those kept with `run --keep`; `--dry-run` lists them first)",
        path = path.display()
    )]
    Corrupt {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write the drill state `{path}`: {source}", path = path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl DrillState {
    pub fn load(path: &Path) -> Result<DrillState, StateError> {
        let text = match crate::input_file::read_to_string(path, crate::input_file::DRILL_STATE) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StateError::NoDrill {
                    path: path.to_path_buf(),
                });
            }
            Err(source) => {
                return Err(StateError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        serde_json::from_str(&text).map_err(|source| StateError::Corrupt {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Write the state; a reader never sees half a file.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let write = || -> std::io::Result<()> {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            std::fs::create_dir_all(dir)?;
            let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
            let partial = path.with_extension(format!("{}.partial", std::process::id()));
            std::fs::write(&partial, text)?;
            std::fs::rename(&partial, path).inspect_err(|_| {
                let _ = std::fs::remove_file(&partial);
            })
        };
        write().map_err(|source| StateError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The replica's hosts as the probes reach them.
    pub fn addresses(&self) -> HostAddresses {
        let mut hosts = HostAddresses::default();
        for host in &self.hosts {
            hosts.insert_reach(
                &host.name,
                host.container_id.clone(),
                host.address,
                host.reach.clone(),
            );
        }
        hosts
    }

    pub fn host(&self, name: &str) -> Option<&DrillHost> {
        self.hosts.iter().find(|h| h.name == name)
    }
}

/// `$XDG_STATE_HOME/rehearse/drill.json`, else `~/.local/state/rehearse/drill.json`.
pub fn default_state_path() -> Option<PathBuf> {
    let set = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let base = set("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| set("HOME").map(|home| PathBuf::from(home).join(".local").join("state")))?;
    Some(base.join("rehearse").join("drill.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> DrillState {
        DrillState {
            scenario: "first-story".into(),
            scenario_path: "/drills/first-story.yaml".into(),
            run_id: "first-story-abc123".into(),
            network: "rh-first-story-abc123".into(),
            publish: None,
            hosts: vec![DrillHost {
                name: "web".into(),
                container_id: "c0ffee".into(),
                address: "172.18.0.2".parse().unwrap(),
                reach: Reach::Direct,
            }],
            briefed_at: "2026-11-26T18:00:00Z".parse().unwrap(),
            attempts: 2,
            hints_used: 1,
            baseline: Some(500),
            report_dir: "rehearse-report/drill".into(),
            solved: None,
            engine: Some("unix:///var/run/docker.sock".into()),
        }
    }

    #[test]
    fn the_state_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deep/drill.json");
        state().save(&path).unwrap();
        assert_eq!(DrillState::load(&path).unwrap(), state());
        let hosts = state().addresses();
        assert_eq!(hosts.get("web").unwrap().container_id, "c0ffee");
    }

    #[test]
    fn no_state_file_means_no_drill_and_says_how_to_start_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("drill.json");
        let error = DrillState::load(&path).unwrap_err().to_string();
        assert_eq!(
            error,
            format!(
                "no drill is running (no state file `{}`): start one with `rehearse drill FILE`",
                path.display()
            )
        );
        std::fs::write(&path, "{").unwrap();
        assert!(
            DrillState::load(&path)
                .unwrap_err()
                .to_string()
                .contains("is not readable")
        );
    }
}
