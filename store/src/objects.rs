//! The object port for the embedded default: files under a folder. The content
//! type is kept in a sidecar file (`<key>.type`). Keys are checked so a key can
//! never leave the folder.

use std::path::{Component, Path, PathBuf};

use async_trait::async_trait;
use stampede_domain::ports::{ObjectInfo, ObjectStore, StoreError, StoreResult};

pub struct FileObjects {
    root: PathBuf,
}

impl FileObjects {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, key: &str) -> StoreResult<PathBuf> {
        let rel = Path::new(key);
        let safe =
            !key.is_empty() && !key.ends_with(".type") && rel.components().all(|c| matches!(c, Component::Normal(_)));
        if !safe {
            return Err(StoreError::Other(format!("invalid object key {key:?}")));
        }
        Ok(self.root.join(rel))
    }
}

fn io(e: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("object folder: {e}"))
}

#[async_trait]
impl ObjectStore for FileObjects {
    async fn put(&self, key: &str, bytes: &[u8], content_type: &str) -> StoreResult<()> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        let tmp = path.with_extension("upload");
        crate::private::write(&tmp, bytes).await.map_err(io)?;
        let sidecar = path.with_extension(format!("{}.type", ext(&path)));
        crate::private::write(&sidecar, content_type.as_bytes()).await.map_err(io)?;
        tokio::fs::rename(&tmp, &path).await.map_err(io)
    }

    async fn put_file(&self, key: &str, source: &Path, content_type: &str) -> StoreResult<()> {
        let path = self.path(key)?;
        if let Some(parent) = path.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(io)?;
        }
        let tmp = path.with_extension("upload");
        tokio::fs::copy(source, &tmp).await.map_err(io)?;
        crate::private::file(&tmp).map_err(io)?;
        let sidecar = path.with_extension(format!("{}.type", ext(&path)));
        crate::private::write(&sidecar, content_type.as_bytes()).await.map_err(io)?;
        tokio::fs::rename(&tmp, &path).await.map_err(io)
    }

    async fn get(&self, key: &str) -> StoreResult<Option<(Vec<u8>, String)>> {
        let Ok(path) = self.path(key) else { return Ok(None) };
        match tokio::fs::read(&path).await {
            Ok(bytes) => {
                let ct = tokio::fs::read_to_string(path.with_extension(format!("{}.type", ext(&path))))
                    .await
                    .unwrap_or_else(|_| "application/octet-stream".to_owned());
                Ok(Some((bytes, ct)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn delete(&self, key: &str) -> StoreResult<()> {
        let path = self.path(key)?;
        for file in [path.with_extension(format!("{}.type", ext(&path))), path] {
            match tokio::fs::remove_file(&file).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(e)),
            }
        }
        Ok(())
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<ObjectInfo>> {
        let folder = prefix.trim_end_matches('/');
        let dir = self.path(folder)?;
        let folder = folder.to_owned();
        // A walk of the folder: blocking file-system work, off the runtime.
        tokio::task::spawn_blocking(move || walk(&dir, &folder))
            .await
            .map_err(|e| StoreError::Other(format!("listing objects: {e}")))?
    }
}

/// The objects under `dir`, whose key is `key`: sidecars (`.type`) and
/// half-written files (`.upload`) are not objects.
fn walk(dir: &Path, key: &str) -> StoreResult<Vec<ObjectInfo>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta = entry.metadata().map_err(io)?;
        let child = format!("{key}/{name}");
        if meta.is_dir() {
            found.extend(walk(&entry.path(), &child)?);
        } else if !name.ends_with(".type") && !name.ends_with(".upload") {
            let modified = meta.modified().map_err(io)?;
            found.push(ObjectInfo { key: child, size: meta.len(), modified: modified.into() });
        }
    }
    found.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(found)
}

fn ext(path: &Path) -> String {
    path.extension().and_then(|e| e.to_str()).unwrap_or("").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_and_no_escape() {
        let dir = tempfile::tempdir().expect("dir");
        let objects = FileObjects::new(dir.path());
        objects.put("public/a/logo.png", b"\x89PNG", "image/png").await.expect("put");
        let (bytes, ct) = objects.get("public/a/logo.png").await.expect("get").expect("exists");
        assert_eq!((bytes.as_slice(), ct.as_str()), (&b"\x89PNG"[..], "image/png"));
        assert!(objects.get("public/a/missing.png").await.expect("get").is_none());
        for bad in ["../etc/passwd", "/etc/passwd", "public/../../x", "", "public/a/logo.png.type"] {
            assert!(objects.put(bad, b"x", "text/plain").await.is_err(), "{bad}");
            assert!(objects.get(bad).await.expect("get").is_none(), "{bad}");
            assert!(objects.delete(bad).await.is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn lists_and_deletes() {
        let dir = tempfile::tempdir().expect("dir");
        let objects = FileObjects::new(dir.path());
        assert!(objects.list("private/c/").await.expect("list of nothing").is_empty());
        objects.put("private/c/uploads/b.pdf", b"%PDF-2", "application/pdf").await.expect("put");
        objects.put("private/c/uploads/a.png", b"\x89PNG", "image/png").await.expect("put");
        objects.put("private/d/uploads/z.png", b"\x89PNG", "image/png").await.expect("put");
        let listed = objects.list("private/c/").await.expect("list");
        let keys: Vec<_> = listed.iter().map(|o| (o.key.as_str(), o.size)).collect();
        assert_eq!(keys, [("private/c/uploads/a.png", 4), ("private/c/uploads/b.pdf", 6)]);
        assert!(listed.iter().all(|o| o.modified <= chrono::Utc::now()));
        objects.delete("private/c/uploads/a.png").await.expect("delete");
        objects.delete("private/c/uploads/a.png").await.expect("deleting what is gone");
        assert!(objects.get("private/c/uploads/a.png").await.expect("get").is_none());
        assert_eq!(objects.list("private/").await.expect("list").len(), 2);
    }
}
