//! The outbox: with no `SMTP_URL` (the quick start), every email is written to
//! `MAIL_OUTBOX_DIR` as `<message id>.eml` — a complete RFC 5322 message any mail client opens.
//! Written to a temporary name and renamed, so a reader never sees half a file; a retry of the
//! same message rewrites the same file instead of adding a second.

use std::path::{Path, PathBuf};

use uuid::Uuid;

/// An outbox folder.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    /// The outbox at `dir` (relative to the working directory); the folder is created with
    /// the first email.
    pub fn open(dir: &Path) -> Result<Outbox, String> {
        let dir = if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| format!("MAIL_OUTBOX_DIR: no working directory ({e})"))?
                .join(dir)
        };
        Ok(Outbox { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of message `id`.
    pub fn path_of(&self, id: Uuid) -> PathBuf {
        self.dir.join(format!("{id}.eml"))
    }

    /// Writes the email of message `id`.
    pub async fn write(&self, id: Uuid, email: Vec<u8>) -> Result<(), String> {
        let path = self.path_of(id);
        let tmp = self.dir.join(format!(".{id}.eml.tmp"));
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)
                .and_then(|()| std::fs::write(&tmp, &email))
                .and_then(|()| std::fs::rename(&tmp, &path))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))
        })
        .await
        .map_err(|e| format!("outbox writer failed: {e}"))?
    }
}
