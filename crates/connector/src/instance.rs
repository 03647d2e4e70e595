//! One connector at a time on one outbox. Two would read the same files and send the same rows
//! side by side (the server would store each once, but the outbox's marks and the files' read
//! positions would race), so `run` and `run --once` hold an exclusive lock on a file in the data
//! folder for as long as they run, and a second one refuses to start. The operating system
//! drops the lock when the process ends, however it ends. `status` takes no lock: it only reads.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

/// The lock's file, beside the outbox.
pub const LOCK_FILE: &str = "connector.lock";

/// Held while a connector runs on a data folder.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

impl InstanceLock {
    /// Takes the data folder's lock, or says that another connector holds it.
    pub fn acquire(data_dir: &Path) -> anyhow::Result<InstanceLock> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join(LOCK_FILE);
        let file = OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
        match file.try_lock() {
            Ok(()) => Ok(InstanceLock { _file: file }),
            Err(TryLockError::WouldBlock) => anyhow::bail!(
                "連携サービスはすでに動いています。同じ設定で二つ目は起動しません \
                 (another connector is already running on {}: a second one does not start)",
                data_dir.display()
            ),
            Err(TryLockError::Error(e)) => Err(anyhow::anyhow!("cannot lock {}: {e}", path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_one_folder_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = InstanceLock::acquire(dir.path()).unwrap();
        let refused = InstanceLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(refused.contains("already running"), "{refused}");
        let other = tempfile::tempdir().unwrap();
        let _elsewhere = InstanceLock::acquire(other.path()).expect("another folder is another outbox");
        drop(first);
        InstanceLock::acquire(dir.path()).expect("free again once the first is gone");
    }
}
