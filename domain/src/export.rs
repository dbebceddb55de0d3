//! Exports: a business's transactions or (consenting) customers as CSV for a
//! date range, or a customer's own data (GDPR). Requested through the API,
//! produced by the export worker into private object storage.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ids::{BusinessId, CustomerId, StaffId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExportKind {
    /// A business's ledger for a date range (CSV).
    Transactions,
    /// A business's customers who agreed to hear from it (CSV).
    Customers,
    /// Everything about one customer (JSON).
    MyData,
}

impl ExportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Transactions => "transactions",
            ExportKind::Customers => "customers",
            ExportKind::MyData => "my_data",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "transactions" => ExportKind::Transactions,
            "customers" => ExportKind::Customers,
            "my_data" => ExportKind::MyData,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ExportStatus {
    Pending,
    Running,
    Done,
    Failed,
}

impl ExportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportStatus::Pending => "pending",
            ExportStatus::Running => "running",
            ExportStatus::Done => "done",
            ExportStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => ExportStatus::Pending,
            "running" => ExportStatus::Running,
            "done" => ExportStatus::Done,
            "failed" => ExportStatus::Failed,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Export {
    pub id: Uuid,
    pub kind: ExportKind,
    pub business_id: Option<BusinessId>,
    /// The customer whose data it is (`my_data`).
    pub customer_id: Option<CustomerId>,
    /// Who asked, for a business export.
    pub staff_id: Option<StaffId>,
    pub from: Option<NaiveDate>,
    /// Inclusive.
    pub to: Option<NaiveDate>,
    pub status: ExportStatus,
    pub object_key: Option<String>,
    pub rows: Option<i64>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl Export {
    /// A new request, pending, asked for now.
    pub fn requested(
        kind: ExportKind,
        business_id: Option<BusinessId>,
        customer_id: Option<CustomerId>,
        staff_id: Option<StaffId>,
        period: Option<(NaiveDate, NaiveDate)>,
    ) -> Self {
        Self {
            id: Uuid::now_v7(),
            kind,
            business_id,
            customer_id,
            staff_id,
            from: period.map(|p| p.0),
            to: period.map(|p| p.1),
            status: ExportStatus::Pending,
            object_key: None,
            rows: None,
            error: None,
            created_at: crate::ledger::now(),
            finished_at: None,
        }
    }
}

/// The `export` queue's message: which export to produce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportMessage {
    pub schema_version: u32,
    pub export_id: Uuid,
    pub request_id: Option<String>,
}

impl ExportMessage {
    pub const SCHEMA_VERSION: u32 = 1;
    pub const MESSAGE_TYPE: &'static str = "export.requested";
}
