//! A program's reward catalog: create, list, change (owner, admin), image upload.

pub mod create;
pub mod image;
pub mod list;
pub mod update;

use chrono::{DateTime, Utc};

use super::input::Fields;

pub fn check(f: &mut Fields, cost: i64, stock: Option<i64>, from: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) {
    if !(1..=1_000_000_000).contains(&cost) {
        f.push("cost", "must be between 1 and 1000000000");
    }
    if stock.is_some_and(|s| s < 0) {
        f.push("stock", "must not be negative");
    }
    if let (Some(a), Some(b)) = (from, until)
        && b <= a
    {
        f.push("active_until", "must be after active_from");
    }
}
