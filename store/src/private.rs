//! Files only this service's user may read: the data folder and what in it
//! holds secrets or personal data (signing and link keys, the SQLite file,
//! mail carrying reset links, customer uploads). They are made owner-only
//! whatever the process's umask; `deploy/stampede.service` also sets
//! `UMask=0077`.

use std::path::Path;

use tokio::io::AsyncWriteExt;

/// Create `dir` (and its parents) and make it owner-only (0700).
pub fn dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    restrict(dir, 0o700)
}

/// [`dir`], for async callers.
pub async fn dir_async(dir: &Path) -> std::io::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tokio::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).await?;
    }
    Ok(())
}

/// Make an existing file owner-only (0600).
pub fn file(path: &Path) -> std::io::Result<()> {
    restrict(path, 0o600)
}

/// Write `bytes` to `path` as a file only the owner may read, created so
/// from the start (never readable by others, not even for a moment).
pub async fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = tokio::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut f = options.open(path).await?;
    f.write_all(bytes).await?;
    f.flush().await
}

/// [`write`], for sync callers.
pub fn write_sync(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn restrict(_: &Path, _: u32) -> std::io::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
    }

    #[tokio::test]
    async fn folders_and_files_are_owner_only() {
        let root = tempfile::tempdir().expect("dir");
        let data = root.path().join("data");
        std::fs::create_dir(&data).expect("mkdir");
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        dir(&data).expect("existing folder");
        assert_eq!(mode(&data), 0o700);
        dir_async(&data.join("mail")).await.expect("new folder");
        assert_eq!(mode(&data.join("mail")), 0o700);
        write(&data.join("a.eml"), b"reset link").await.expect("write");
        write_sync(&data.join("b.key"), b"secret").expect("write");
        assert_eq!((mode(&data.join("a.eml")), mode(&data.join("b.key"))), (0o600, 0o600));
        std::fs::write(data.join("c.db"), b"").expect("plain write");
        file(&data.join("c.db")).expect("chmod");
        assert_eq!(mode(&data.join("c.db")), 0o600);
    }
}
