//! File events for the LanScope folder. They only wake the daemon early: events can be lost
//! (a full queue, a network share, a folder that was replaced), so the periodic rescan stays
//! the source of truth and a file is still read only once it has settled.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{Event, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

/// What an event means for the daemon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wake {
    /// Something changed in the folder.
    Changed,
    /// The folder itself went away: the watch must be set up again.
    Lost,
}

/// Watches one folder (not its subfolders). When the watch cannot be set up (the folder is
/// missing, the system's watch limit is reached), the daemon runs on its rescans alone and the
/// watch is tried again at each rescan.
pub struct FolderWatcher {
    dir: PathBuf,
    watcher: Option<RecommendedWatcher>,
    tx: mpsc::Sender<()>,
    rx: mpsc::Receiver<()>,
    /// Set by the watcher's thread when the folder itself went away.
    lost: Arc<AtomicBool>,
    warned: bool,
}

impl FolderWatcher {
    pub fn new(dir: &Path) -> FolderWatcher {
        // One pending wake is enough: the daemon looks at the whole folder each time.
        let (tx, rx) = mpsc::channel(1);
        let lost = Arc::new(AtomicBool::new(false));
        let mut watcher = FolderWatcher { dir: dir.to_path_buf(), watcher: None, tx, rx, lost, warned: false };
        watcher.ensure();
        watcher
    }

    /// Whether file events are arriving.
    pub fn is_active(&self) -> bool {
        self.watcher.is_some()
    }

    /// Sets the watch up if it is not.
    pub fn ensure(&mut self) {
        if self.watcher.is_some() {
            return;
        }
        self.lost.store(false, Ordering::SeqCst);
        match start(&self.dir, self.tx.clone(), self.lost.clone()) {
            Ok(watcher) => {
                tracing::info!(folder = %self.dir.display(), "Watching the folder for file events.");
                self.watcher = Some(watcher);
                self.warned = false;
            }
            Err(e) => {
                if !self.warned {
                    tracing::warn!(
                        folder = %self.dir.display(),
                        error = %e,
                        "Cannot watch the folder for file events; it is rescanned periodically instead."
                    );
                    self.warned = true;
                }
            }
        }
    }

    /// Resolves at the next relevant file event; never while there is no watch.
    pub async fn changed(&mut self) {
        if self.watcher.is_none() {
            return std::future::pending().await;
        }
        if self.rx.recv().await.is_none() {
            return std::future::pending().await;
        }
        self.check_lost();
    }

    /// Forgets the events that arrived meanwhile (the next scan sees their files anyway).
    pub fn drain(&mut self) {
        while self.rx.try_recv().is_ok() {}
        self.check_lost();
    }

    fn check_lost(&mut self) {
        if self.watcher.is_some() && self.lost.load(Ordering::SeqCst) {
            tracing::warn!(folder = %self.dir.display(), "The watched folder went away; the watch is set up again.");
            self.watcher = None;
        }
    }
}

fn start(dir: &Path, tx: mpsc::Sender<()>, lost: Arc<AtomicBool>) -> notify::Result<RecommendedWatcher> {
    let folder = dir.to_path_buf();
    let mut watcher = notify::recommended_watcher(move |result: notify::Result<Event>| {
        let wake = match result {
            Ok(event) => classify(&folder, &event),
            // An error from the watcher (an overflowing queue, say): look at the folder.
            Err(_) => Some(Wake::Changed),
        };
        if wake == Some(Wake::Lost) {
            lost.store(true, Ordering::SeqCst);
        }
        if wake.is_some() {
            // A full channel already holds a wake, which is all the daemon needs.
            let _ = tx.try_send(());
        }
    })?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}

/// Which events can mean a new or finished CSV file.
fn classify(folder: &Path, event: &Event) -> Option<Wake> {
    if matches!(event.kind, EventKind::Remove(_)) && event.paths.iter().any(|p| p == folder) {
        return Some(Wake::Lost);
    }
    if event.need_rescan() {
        return Some(Wake::Changed);
    }
    let relevant_kind = match event.kind {
        // Our own reads open and close files: only a writer closing one matters.
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) | EventKind::Remove(_) => false,
        EventKind::Any | EventKind::Create(_) | EventKind::Modify(_) | EventKind::Other => true,
    };
    (relevant_kind && event.paths.iter().any(|p| is_csv(p))).then_some(Wake::Changed)
}

fn is_csv(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{CreateKind, ModifyKind, RemoveKind};

    fn event(kind: EventKind, path: &str) -> Event {
        Event::new(kind).add_path(PathBuf::from(path))
    }

    #[test]
    fn only_events_about_csv_files_wake_the_daemon() {
        let folder = Path::new("/lanscope");
        let created = event(EventKind::Create(CreateKind::File), "/lanscope/kintai_20240209.csv");
        assert_eq!(classify(folder, &created), Some(Wake::Changed));
        let written = event(EventKind::Modify(ModifyKind::Any), "/lanscope/KINTAI.CSV");
        assert_eq!(classify(folder, &written), Some(Wake::Changed));
        let closed = event(EventKind::Access(AccessKind::Close(AccessMode::Write)), "/lanscope/a.csv");
        assert_eq!(classify(folder, &closed), Some(Wake::Changed));
        let other_file = event(EventKind::Create(CreateKind::File), "/lanscope/setup.tmp");
        assert_eq!(classify(folder, &other_file), None);
        let our_read = event(EventKind::Access(AccessKind::Close(AccessMode::Read)), "/lanscope/a.csv");
        assert_eq!(classify(folder, &our_read), None);
        let removed = event(EventKind::Remove(RemoveKind::File), "/lanscope/a.csv");
        assert_eq!(classify(folder, &removed), None);
        let folder_gone = event(EventKind::Remove(RemoveKind::Folder), "/lanscope");
        assert_eq!(classify(folder, &folder_gone), Some(Wake::Lost));
    }

    #[tokio::test]
    async fn a_new_csv_file_wakes_the_watcher_and_a_missing_folder_is_watched_once_it_exists() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("lanscope");
        let mut watcher = FolderWatcher::new(&folder);
        assert!(!watcher.is_active(), "a missing folder cannot be watched");
        std::fs::create_dir(&folder).unwrap();
        watcher.ensure();
        assert!(watcher.is_active());
        std::fs::write(folder.join("notes.txt"), "x").unwrap();
        std::fs::write(folder.join("kintai_20240209.csv"), "x").unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), watcher.changed())
            .await
            .expect("the new CSV file woke the watcher");
        watcher.drain();
        assert!(watcher.is_active());
    }
}
