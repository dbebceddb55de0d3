//! The export handler (`export` queue): produces one requested export into
//! private object storage, then queues the "export ready" email with a
//! time-limited download link.
//!
//! Rows are read in bounded pages and written to a temporary file, which the
//! object port streams up, so memory stays flat however large the export.
//! Each export runs once (the inbox); a retryable failure puts it back to
//! pending for the redelivery, a permanent one marks it failed.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveTime, Utc};
use stampede_domain::customer::Customer;
use stampede_domain::export::{Export, ExportKind, ExportMessage, ExportStatus};
use stampede_domain::ids::CustomerId;
use stampede_domain::ledger::LedgerEntry;
use stampede_domain::messages::{EmailMessage, derived_id};
use stampede_domain::ports::{Begin, ObjectStore, Queue, QueueMessage, Store};
use uuid::Uuid;

use crate::failure::Failure;

pub const CONSUMER: &str = "export";
const PAGE: i64 = 1000;

/// The folder of a customer's data exports; erasing the account empties it.
pub fn customer_folder(customer: CustomerId) -> String {
    format!("private/exports/customers/{}/", customer.0)
}

/// Builds the signed, expiring download link of an export.
pub type DownloadLink = Arc<dyn Fn(Uuid) -> String + Send + Sync>;

pub struct ExportWorker {
    pub store: Arc<dyn Store>,
    pub objects: Arc<dyn ObjectStore>,
    pub queue: Arc<dyn Queue>,
    pub download_link: DownloadLink,
    /// Where export files are written before upload.
    pub scratch: PathBuf,
    pub lease: Duration,
}

fn io(e: std::io::Error) -> Failure {
    Failure::Retryable(format!("export scratch file: {e}"))
}

/// A CSV field: quoted when it holds a comma, quote or line break; a leading
/// `=`, `+`, `-` or `@` is prefixed with `'` so spreadsheets do not run it.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_owned() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

const TRANSACTION_HEADER: &str = "transaction_id,created_at,kind,card_id,customer_id,store_id,program_id,\
    counts,delta,balance_after,amount_minor,currency,reward_id,reverses_id\n";

fn transaction_line(e: &LedgerEntry) -> String {
    let opt = |u: Option<Uuid>| u.map(|u| u.to_string()).unwrap_or_default();
    format!(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
        e.id,
        e.created_at.to_rfc3339(),
        e.kind.as_str(),
        e.card_id.0,
        e.customer_id.0,
        opt(e.store_id.map(|s| s.0)),
        e.program_id,
        if e.points { "points" } else { "stamps" },
        e.delta,
        e.balance_after,
        e.amount_minor.map(|a| a.to_string()).unwrap_or_default(),
        csv_field(e.currency.as_deref().unwrap_or("")),
        opt(e.reward_id),
        opt(e.reverses_id),
    )
}

fn customer_line(c: &Customer) -> String {
    format!(
        "{},{},{},{},{}\n",
        c.id.0,
        csv_field(&c.email),
        csv_field(&c.name),
        csv_field(c.phone.as_deref().unwrap_or("")),
        c.joined_at.to_rfc3339()
    )
}

impl ExportWorker {
    pub async fn handle(&self, body: &str) -> Result<Option<Export>, Failure> {
        let msg: ExportMessage =
            serde_json::from_str(body).map_err(|e| Failure::Permanent(format!("not an export message: {e}")))?;
        match self.store.begin_message(CONSUMER, msg.export_id, Utc::now(), self.lease).await? {
            Begin::Done => return Ok(None),
            Begin::Busy => return Err(Failure::Retryable("the export is being produced".into())),
            Begin::Fresh => {}
        }
        let Some(mut export) = self.store.get_export(msg.export_id).await? else {
            self.store.finish_message(CONSUMER, msg.export_id, Utc::now()).await?;
            return Err(Failure::Permanent(format!("no export {}", msg.export_id)));
        };
        export.status = ExportStatus::Running;
        self.store.save_export(&export).await?;
        match self.produce(&mut export, msg.request_id.clone()).await {
            Ok(()) => {
                self.store.finish_message(CONSUMER, export.id, Utc::now()).await?;
                Ok(Some(export))
            }
            Err(Failure::Retryable(why)) => {
                export.status = ExportStatus::Pending;
                self.store.save_export(&export).await?;
                self.store.abandon_message(CONSUMER, export.id).await?;
                Err(Failure::Retryable(why))
            }
            Err(Failure::Permanent(why)) => {
                export.status = ExportStatus::Failed;
                export.error = Some(why.clone());
                export.finished_at = Some(Utc::now());
                self.store.save_export(&export).await?;
                self.store.finish_message(CONSUMER, export.id, Utc::now()).await?;
                Err(Failure::Permanent(why))
            }
        }
    }

    async fn produce(&self, export: &mut Export, request_id: Option<String>) -> Result<(), Failure> {
        std::fs::create_dir_all(&self.scratch).map_err(io)?;
        let file = self.scratch.join(format!("export-{}.tmp", export.id));
        let result = self.write_file(export, &file).await;
        let rows = match result {
            Ok(rows) => rows,
            Err(e) => {
                let _ = std::fs::remove_file(&file);
                return Err(e);
            }
        };
        let (folder, ext, content_type) = match export.kind {
            ExportKind::MyData => {
                (customer_folder(export.customer_id.unwrap_or(CustomerId(Uuid::nil()))), "json", "application/json")
            }
            _ => (
                format!("private/exports/businesses/{}/", export.business_id.map(|b| b.0).unwrap_or_default()),
                "csv",
                "text/csv",
            ),
        };
        let key = format!("{folder}{}-{}.{ext}", export.kind.as_str(), export.id);
        let uploaded = self.objects.put_file(&key, &file, content_type).await;
        let _ = std::fs::remove_file(&file);
        uploaded?;
        // An account erased while its file was written: the erasure may have
        // swept the folder before the file landed, so it goes now.
        if let Some(customer) = export.customer_id
            && self.store.customer_erased(customer).await?
        {
            self.objects.delete(&key).await?;
            return Err(Failure::Permanent("the account was erased".into()));
        }
        export.status = ExportStatus::Done;
        export.object_key = Some(key);
        export.rows = Some(rows);
        export.finished_at = Some(Utc::now());
        self.store.save_export(export).await?;
        self.queue_email(export, request_id).await
    }

    /// Write the export to `file`; returns the number of rows.
    async fn write_file(&self, export: &Export, file: &std::path::Path) -> Result<i64, Failure> {
        let mut out = std::io::BufWriter::new(std::fs::File::create(file).map_err(io)?);
        let mut rows = 0i64;
        match export.kind {
            ExportKind::Transactions => {
                let business = export.business_id.ok_or_else(|| Failure::Permanent("no business".into()))?;
                let (from, to) = export.from.zip(export.to).ok_or_else(|| Failure::Permanent("no period".into()))?;
                let start = from.and_time(NaiveTime::MIN).and_utc();
                let end = to.succ_opt().unwrap_or(to).and_time(NaiveTime::MIN).and_utc();
                out.write_all(TRANSACTION_HEADER.as_bytes()).map_err(io)?;
                let mut after = None;
                loop {
                    let page = self.store.business_entries(business, start, end, after, PAGE).await?;
                    for e in &page {
                        out.write_all(transaction_line(e).as_bytes()).map_err(io)?;
                    }
                    rows += page.len() as i64;
                    match page.last() {
                        Some(last) if page.len() as i64 == PAGE => after = Some(last.id),
                        _ => break,
                    }
                }
            }
            ExportKind::Customers => {
                let business = export.business_id.ok_or_else(|| Failure::Permanent("no business".into()))?;
                out.write_all(b"customer_id,email,name,phone,joined_at\n").map_err(io)?;
                let mut after = None;
                loop {
                    let page = self.store.consenting_customers(business, after, PAGE).await?;
                    for c in &page {
                        out.write_all(customer_line(c).as_bytes()).map_err(io)?;
                    }
                    rows += page.len() as i64;
                    match page.last() {
                        Some(last) if page.len() as i64 == PAGE => after = Some(last.id),
                        _ => break,
                    }
                }
            }
            ExportKind::MyData => {
                // A JSON document written piece by piece: profile, cards, then
                // the transactions page by page.
                let customer = export.customer_id.ok_or_else(|| Failure::Permanent("no customer".into()))?;
                let Some(profile) = self.store.get_customer(customer).await? else {
                    return Err(Failure::Permanent("the customer is gone".into()));
                };
                if self.store.customer_erased(customer).await? {
                    return Err(Failure::Permanent("the account was erased".into()));
                }
                let cards = self.store.list_customer_cards(customer).await?;
                write!(
                    out,
                    "{{\"exported_at\":{},\"profile\":{},\"cards\":{},\"transactions\":[",
                    json(&Utc::now()),
                    json(&profile),
                    json(&cards)
                )
                .map_err(io)?;
                let mut after = None;
                loop {
                    let page = self.store.customer_entries(customer, after, PAGE).await?;
                    for e in &page {
                        if rows > 0 {
                            out.write_all(b",").map_err(io)?;
                        }
                        out.write_all(json(e).as_bytes()).map_err(io)?;
                        rows += 1;
                    }
                    match page.last() {
                        Some(last) if page.len() as i64 == PAGE => after = Some(last.id),
                        _ => break,
                    }
                }
                out.write_all(b"]}").map_err(io)?;
            }
        }
        out.flush().map_err(io)?;
        Ok(rows)
    }

    async fn queue_email(&self, export: &Export, request_id: Option<String>) -> Result<(), Failure> {
        let to = match (export.customer_id, export.staff_id) {
            (Some(_), _) => None,
            (None, Some(staff)) => self.store.get_staff(staff).await?.map(|s| s.email),
            (None, None) => None,
        };
        if export.customer_id.is_none() && to.is_none() {
            return Ok(());
        }
        let expires = Utc::now() + chrono::Duration::hours(24);
        let values = BTreeMap::from([
            ("name".to_owned(), "there".to_owned()),
            ("what".to_owned(), export.kind.as_str().replace('_', " ")),
            ("link".to_owned(), (self.download_link)(export.id)),
            ("expires".to_owned(), expires.format("%Y-%m-%d %H:%M UTC").to_string()),
        ]);
        let email = EmailMessage {
            schema_version: EmailMessage::SCHEMA_VERSION,
            event_id: derived_id(&["export_ready", &export.id.to_string()]),
            template: crate::email::Template::ExportReady.name().into(),
            customer_id: export.customer_id,
            to,
            business_id: None,
            // A customer's own name replaces "there" at send time.
            values: if export.customer_id.is_some() {
                values.into_iter().filter(|(k, _)| k != "name").collect()
            } else {
                values
            },
            request_id: request_id.clone(),
            mailing_id: None,
        };
        let body = serde_json::to_string(&email).map_err(|e| Failure::Permanent(e.to_string()))?;
        let msg = QueueMessage {
            id: email.event_id,
            message_type: EmailMessage::MESSAGE_TYPE.into(),
            schema_version: EmailMessage::SCHEMA_VERSION,
            request_id,
            body,
        };
        self.queue.publish("email", &[msg]).await.map_err(|e| Failure::Retryable(e.to_string()))
    }
}

/// JSON of a record written into a customer's export.
fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("-1"), "'-1");
    }
}
