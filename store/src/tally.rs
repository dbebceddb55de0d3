//! What a set of committed transactions adds to the daily analytics, worked
//! out in memory before it is written: the sums per (business, store, program,
//! day) row, the (row, customer) pairs that may make a customer active on a
//! row, and each customer's first visit per business in the set (where they
//! count as new). Both adapters' analytics processors and SQLite's group
//! commit write from it; whether a visit counts is for the database to say
//! (`daily_customers` and `first_seen` remember who was counted).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use stampede_domain::analytics::DailyDelta;
use stampede_domain::ids::StoreId;
use uuid::Uuid;

/// (business, store, program, day): one aggregate row; "no store" is the nil
/// uuid, so it can be part of a primary key.
pub(crate) type DayKey = (Uuid, Uuid, Uuid, NaiveDate);

/// How a row's sums are added to the stored row (the insert names the table
/// `a`).
pub(crate) const ADD_TO_ROW: &str = " ON CONFLICT (business_id, store_id, program_id, day) DO UPDATE SET
    stamps_issued = a.stamps_issued + excluded.stamps_issued,
    points_earned = a.points_earned + excluded.points_earned,
    rewards_redeemed = a.rewards_redeemed + excluded.rewards_redeemed,
    active_customers = a.active_customers + excluded.active_customers,
    new_customers = a.new_customers + excluded.new_customers";

/// What a set adds to one row.
#[derive(Default, Clone, Copy)]
pub(crate) struct Sums {
    pub stamps: i64,
    pub points: i64,
    pub redeemed: i64,
    pub active: i64,
    pub new: i64,
}

pub(crate) fn store_key(store: Option<StoreId>) -> Uuid {
    store.map_or(Uuid::nil(), |s| s.0)
}

pub(crate) fn day_key(d: &DailyDelta) -> DayKey {
    (d.business_id.0, store_key(d.store_id), d.program_id, d.day)
}

pub(crate) struct Tally {
    pub sums: BTreeMap<DayKey, Sums>,
    /// (row, customer) of every visit, sorted, once each.
    pub active: Vec<(DayKey, Uuid)>,
    /// (business, customer) → the row of their first visit in the set.
    pub firsts: BTreeMap<(Uuid, Uuid), DayKey>,
}

impl Tally {
    /// The tally of `(contribution, whether it was a visit)`, in commit order.
    pub fn of<'a>(events: impl Iterator<Item = (&'a DailyDelta, bool)>) -> Self {
        let mut sums: BTreeMap<DayKey, Sums> = BTreeMap::new();
        let mut active = Vec::new();
        let mut firsts = BTreeMap::new();
        for (d, visit) in events {
            let key = day_key(d);
            let s = sums.entry(key).or_default();
            s.stamps += d.stamps_issued;
            s.points += d.points_earned;
            s.redeemed += d.rewards_redeemed;
            if visit {
                active.push((key, d.customer_id.0));
                firsts.entry((d.business_id.0, d.customer_id.0)).or_insert(key);
            }
        }
        active.sort_unstable();
        active.dedup();
        Self { sums, active, firsts }
    }

    /// A customer counted active on a row for the first time that day.
    pub fn counted_active(&mut self, key: DayKey) {
        self.sums.entry(key).or_default().active += 1;
    }

    /// A customer first seen at a business: new on their first visit's row.
    pub fn counted_new(&mut self, business: Uuid, customer: Uuid) {
        if let Some(key) = self.firsts.get(&(business, customer)) {
            self.sums.entry(*key).or_default().new += 1;
        }
    }
}
