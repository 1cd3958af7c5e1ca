//! dokk's own files (the audit log, the rollout intents, its log file): created private to
//! the user (folders 0700, files 0600), since they name hosts, services and images, and
//! written durably where a crash must not lose them.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// Creates `dir` and its missing parents, each new one 0700.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Opens `path` for appending, created 0600 (its folder 0700) when it is not there.
pub fn append_private(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        private_dir(dir)?;
    }
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
}

/// Writes `bytes` to a new file `path`, created 0600 (a saved log may hold anything the
/// service printed); an existing file is not overwritten.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

/// Replaces `path` with `bytes` so that after a crash it holds either the old or the new
/// content, never a part: a private temporary file beside it, fsynced, renamed over it, and
/// the folder fsynced so the rename itself survives a power cut.
pub fn write_durable(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("a file without a folder"))?;
    private_dir(dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("a folder, not a file"))?;
    let temporary = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    File::open(dir)?.sync_all()
}

/// Removes `path` (gone already is fine) and makes the removal durable.
pub fn remove_durable(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    }
    match path.parent() {
        Some(dir) => File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn files_and_folders_are_private_and_a_durable_write_replaces_whole() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("a/b");
        let log = dir.join("audit.jsonl");
        append_private(&log)
            .and_then(|mut f| f.write_all(b"one\n"))
            .expect("append");
        assert_eq!(mode(&log), 0o600);
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700);

        let intent = dir.join("x.json");
        write_durable(&intent, b"first").expect("write");
        write_durable(&intent, b"second").expect("rewrite");
        assert_eq!(std::fs::read(&intent).expect("read"), b"second");
        assert_eq!(mode(&intent), 0o600);
        let names: Vec<_> = std::fs::read_dir(&dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temporary file left: {names:?}");
        remove_durable(&intent).expect("remove");
        remove_durable(&intent).expect("removing twice is fine");
        assert!(!intent.exists());
    }
}
