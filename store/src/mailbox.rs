//! The mail port for the embedded default: one `.eml` file per message in a
//! folder (RFC 5322, multipart/alternative with text and HTML parts). The file
//! is named by the message id, so a message is never written twice; it is
//! written to a temporary name and renamed, so a reader never sees half of one.

use std::path::PathBuf;

use async_trait::async_trait;
use base64::Engine;
use stampede_domain::ports::{Mailer, OutgoingMail, StoreError, StoreResult};

pub struct FileMailer {
    dir: PathBuf,
    from: String,
}

impl FileMailer {
    pub fn new(dir: impl Into<PathBuf>, from: impl Into<String>) -> Self {
        Self { dir: dir.into(), from: from.into() }
    }
}

/// RFC 2047 encoded-word for non-ASCII header text.
fn header_text(s: &str) -> String {
    if s.is_ascii() && !s.contains(['\r', '\n']) {
        s.to_owned()
    } else {
        format!("=?UTF-8?B?{}?=", base64::engine::general_purpose::STANDARD.encode(s.replace(['\r', '\n'], " ")))
    }
}

fn base64_lines(s: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    encoded.as_bytes().chunks(76).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("\r\n")
}

pub fn render_eml(from: &str, mail: &OutgoingMail, date: chrono::DateTime<chrono::Utc>) -> String {
    let boundary = format!("=_stampede_{}", mail.message_id.simple());
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{id}@stampede>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"{boundary}\"\r\n\r\n\
         --{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{text}\r\n\
         --{boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{html}\r\n\
         --{boundary}--\r\n",
        from = header_text(from),
        to = header_text(&mail.to),
        subject = header_text(&mail.subject),
        date = date.to_rfc2822(),
        id = mail.message_id,
        text = base64_lines(&mail.text),
        html = base64_lines(&mail.html),
    )
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, mail: &OutgoingMail) -> StoreResult<()> {
        let io = |e: std::io::Error| StoreError::Unavailable(format!("mail folder: {e}"));
        crate::private::dir_async(&self.dir).await.map_err(io)?;
        let name = format!("{}.eml", mail.message_id);
        let path = self.dir.join(&name);
        if tokio::fs::try_exists(&path).await.map_err(io)? {
            return Ok(()); // sent before: never twice
        }
        let tmp = self.dir.join(format!(".{name}.tmp"));
        // Mail carries reset and verification links: owner-only.
        crate::private::write(&tmp, render_eml(&self.from, mail, chrono::Utc::now()).as_bytes()).await.map_err(io)?;
        tokio::fs::rename(&tmp, &path).await.map_err(io)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_one_file_per_message_once() {
        let dir = tempfile::tempdir().expect("dir");
        let mailer = FileMailer::new(dir.path(), "Stampede <no-reply@example.com>");
        let mail = OutgoingMail {
            to: "ada@example.com".into(),
            subject: "Willkommen, Café".into(),
            text: "Hello".into(),
            html: "<p>Hello</p>".into(),
            message_id: uuid::Uuid::now_v7(),
        };
        mailer.send(&mail).await.expect("send");
        mailer.send(&mail).await.expect("send again");
        let files: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(dir.path().join(format!("{}.eml", mail.message_id))).expect("eml");
        assert!(text.contains("To: ada@example.com\r\n"));
        assert!(text.contains("Subject: =?UTF-8?B?"), "non-ASCII subject is encoded");
        assert!(text.contains("multipart/alternative"));
    }
}
