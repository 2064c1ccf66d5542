//! One download per file at a time: requests missing the same file take turns, so
//! concurrent misses of one URL cost one download from the mirror, and the requests
//! that waited serve what it stored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// When the file was last settled: stored whole, or found fresh (a 304, or the best
/// there is with the mirror out of reach), by the request holding the turn.
type Settled = Option<Instant>;
type Entry = Arc<tokio::sync::Mutex<Settled>>;

/// The turns of the files being fetched, by record path; a file nobody asks for has no
/// entry.
#[derive(Debug, Default)]
pub(super) struct DownloadTurns {
    entries: std::sync::Mutex<HashMap<PathBuf, Entry>>,
}

impl DownloadTurns {
    /// Wait for the turn of the file at `path`.
    pub(super) async fn take(self: &Arc<Self>, path: &Path) -> Turn {
        let entry = self.lock().entry(path.to_path_buf()).or_default().clone();
        let mut turn = Turn {
            guard: None,
            entry,
            path: path.to_path_buf(),
            turns: self.clone(),
            waited_since: None,
        };
        match turn.entry.clone().try_lock_owned() {
            Ok(guard) => turn.guard = Some(guard),
            Err(_) => {
                turn.waited_since = Some(Instant::now());
                turn.guard = Some(turn.entry.clone().lock_owned().await);
            }
        }
        turn
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Files with a turn taken or waited for.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().len()
    }
}

/// The turn of one file: held by the request fetching it (moved into the task that
/// downloads it), until the file is stored or the download failed.
#[derive(Debug)]
pub(super) struct Turn {
    guard: Option<tokio::sync::OwnedMutexGuard<Settled>>,
    entry: Entry,
    path: PathBuf,
    turns: Arc<DownloadTurns>,
    /// Set when another request held the turn first.
    waited_since: Option<Instant>,
}

impl Turn {
    /// Whether the request that held the turn before this one settled the file while
    /// this one waited: what is on disk is then as fresh as the mirror can tell.
    pub(super) fn settled_while_waiting(&self) -> bool {
        match (self.waited_since, self.guard.as_deref()) {
            (Some(waited), Some(Some(settled))) => *settled >= waited,
            _ => false,
        }
    }

    /// The file on disk is settled (see [`Settled`]) for the requests waiting.
    pub(super) fn settle(&mut self) {
        if let Some(guard) = self.guard.as_mut() {
            **guard = Some(Instant::now());
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        // Released first, so that the count below sees only who still wants the turn.
        self.guard = None;
        let mut entries = self.turns.lock();
        // The map's reference and this one: nobody else holds or waits for the turn.
        let unused = Arc::strong_count(&self.entry) <= 2
            && entries
                .get(&self.path)
                .is_some_and(|entry| Arc::ptr_eq(entry, &self.entry));
        if unused {
            entries.remove(&self.path);
        }
    }
}
