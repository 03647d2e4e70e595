//! Refusing network folders for the log folder (seed §2.4: ネットワークフォルダは指定できません).
//! A network share can drop file events and serve half-written files; the connector must run
//! on the manager machine and read its local OUTPUTDIR.

use std::path::Path;

/// Why a folder cannot be the log folder, or `None` when it can.
pub fn refuse_reason(dir: &Path) -> Option<String> {
    let text = dir.to_string_lossy();
    if text.starts_with(r"\\") || text.starts_with("//") {
        return Some(format!(
            "{} is a network folder (UNC path); ネットワークフォルダは指定できません (network folders cannot be used)",
            text
        ));
    }
    if !dir.exists() {
        return Some(format!("{} does not exist", text));
    }
    if !dir.is_dir() {
        return Some(format!("{} is not a folder", text));
    }
    network_mount_reason(dir)
}

#[cfg(target_os = "linux")]
fn network_mount_reason(dir: &Path) -> Option<String> {
    let canonical = std::fs::canonicalize(dir).ok()?;
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    let (mount_point, fs_type) = mount_of(&canonical, &mounts)?;
    is_network_fs(&fs_type).then(|| {
        format!(
            "{} is on a network file system ({fs_type} mounted at {mount_point}); ネットワークフォルダは指定できません (network folders cannot be used)",
            dir.display()
        )
    })
}

#[cfg(windows)]
fn network_mount_reason(dir: &Path) -> Option<String> {
    // A mapped network drive appears as a drive letter whose canonical form is a UNC path.
    let canonical = std::fs::canonicalize(dir).ok()?;
    let text = canonical.to_string_lossy().to_string();
    text.starts_with(r"\\?\UNC\").then(|| {
        format!(
            "{} is a mapped network drive; ネットワークフォルダは指定できません (network folders cannot be used)",
            dir.display()
        )
    })
}

#[cfg(not(any(target_os = "linux", windows)))]
fn network_mount_reason(_dir: &Path) -> Option<String> {
    None
}

/// The longest mount point containing `path`, with its file system type.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn mount_of(path: &Path, mounts: &str) -> Option<(String, String)> {
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let _source = fields.next()?;
            let point = fields.next()?.replace("\\040", " ");
            let fs_type = fields.next()?.to_string();
            path.starts_with(&point).then_some((point, fs_type))
        })
        .max_by_key(|(point, _)| point.len())
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn is_network_fs(fs_type: &str) -> bool {
    matches!(
        fs_type,
        "nfs"
            | "nfs4"
            | "cifs"
            | "smb3"
            | "smbfs"
            | "ncpfs"
            | "afs"
            | "9p"
            | "ceph"
            | "glusterfs"
            | "fuse.sshfs"
            | "davfs"
            | "fuse.davfs2"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unc_paths_are_refused_as_network_folders() {
        let reason = refuse_reason(Path::new(r"\\fileserver\lanscope")).unwrap();
        assert!(reason.contains("network"), "{reason}");
    }

    #[test]
    fn a_missing_folder_and_a_file_are_refused() {
        assert!(refuse_reason(Path::new("/no/such/folder/here")).unwrap().contains("does not exist"));
        let file = std::env::current_exe().unwrap();
        assert!(refuse_reason(&file).unwrap().contains("not a folder"));
    }

    #[test]
    fn a_local_folder_is_accepted() {
        assert_eq!(refuse_reason(&std::env::temp_dir()), None);
    }

    #[test]
    fn a_folder_under_an_nfs_mount_is_recognised() {
        let mounts = "/dev/vda / ext4 rw 0 0\nserver:/export /mnt/share nfs4 rw 0 0\n";
        let (point, fs) = mount_of(Path::new("/mnt/share/lanscope"), mounts).unwrap();
        assert_eq!((point.as_str(), fs.as_str()), ("/mnt/share", "nfs4"));
        assert!(is_network_fs(&fs));
        let (_, fs) = mount_of(Path::new("/var/tmp"), mounts).unwrap();
        assert!(!is_network_fs(&fs));
    }
}
