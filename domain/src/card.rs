//! The card state machine: a command against a card's state gives a new state
//! and an effect (what goes into the ledger), or a refusal that changes nothing.
//!
//! A card's balance (stamps or points, as its program counts) is held in lots,
//! one per earning, oldest first; spending takes from the oldest lot still
//! valid. Expired lots stop counting at once (`balance_at`), but leave the card
//! only through an `Expire` command (the sweep), so every change of the balance
//! is a ledger row: the balance is always the sum of the ledger, the sum of the
//! lots, and never negative. `execute` never mutates: the caller (the card
//! actor) swaps in the new state only after the effect is durably committed.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::access::Place;
use crate::ids::{CardId, StoreId};
use crate::program::{Campaign, ProgramRules, Reward, campaign_effect, local_day, within_cap};

/// One earning, and how much of it is left.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lot {
    pub earned_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub remaining: i64,
}

/// The bookkeeping a card's rules need, stored as JSON beside the balance.
/// Missing fields read as empty, so rows written by older versions still load.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CardBook {
    pub lots: Vec<Lot>,
    /// The store-local day of the last earning and what was earned that day.
    pub day: Option<NaiveDate>,
    pub earned_today: i64,
    /// The last stamp visit per store, for the minimum interval.
    pub last_visit: BTreeMap<StoreId, DateTime<Utc>>,
    /// How often the card benefited from each campaign.
    pub campaign_uses: BTreeMap<Uuid, u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardState {
    pub id: CardId,
    pub program_id: Uuid,
    pub balance: i64,
    pub book: CardBook,
    /// Bumped by every committed change; the database's version check.
    pub version: i64,
    /// The ledger row whose write made this state (`None` before the first).
    /// The database checks it with the version: two writers that start from
    /// the same version both make the next number, but only the write that
    /// made a state carries its entry, so an operation queued behind one
    /// writer's write never lands on another's.
    #[serde(default)]
    pub last_entry: Option<Uuid>,
}

/// A customer's card as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    pub id: CardId,
    pub program_id: Uuid,
    pub customer_id: crate::ids::CustomerId,
    pub business_id: crate::ids::BusinessId,
    /// The counter code: random, unique, identifies the card without the customer.
    pub code: String,
    pub balance: i64,
    pub book: CardBook,
    pub version: i64,
    /// See [`CardState::last_entry`].
    #[serde(default)]
    pub last_entry: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl Card {
    pub fn state(&self) -> CardState {
        CardState {
            id: self.id,
            program_id: self.program_id,
            balance: self.balance,
            book: self.book.clone(),
            version: self.version,
            last_entry: self.last_entry,
        }
    }
}

/// What kind of ledger row an effect is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TxKind {
    StampIssuance,
    PointsAddition,
    RewardRedemption,
    Cancellation,
    Adjustment,
    Expiry,
}

impl TxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TxKind::StampIssuance => "STAMP_ISSUANCE",
            TxKind::PointsAddition => "POINTS_ADDITION",
            TxKind::RewardRedemption => "REWARD_REDEMPTION",
            TxKind::Cancellation => "CANCELLATION",
            TxKind::Adjustment => "ADJUSTMENT",
            TxKind::Expiry => "EXPIRY",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "STAMP_ISSUANCE" => TxKind::StampIssuance,
            "POINTS_ADDITION" => TxKind::PointsAddition,
            "REWARD_REDEMPTION" => TxKind::RewardRedemption,
            "CANCELLATION" => TxKind::Cancellation,
            "ADJUSTMENT" => TxKind::Adjustment,
            "EXPIRY" => TxKind::Expiry,
            _ => return None,
        })
    }
}

/// What a command did: the ledger row's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Effect {
    pub kind: TxKind,
    /// Signed change of the balance.
    pub delta: i64,
    pub balance_after: i64,
    pub campaigns: Vec<Uuid>,
    pub reward_id: Option<Uuid>,
    pub reverses: Option<Uuid>,
    /// Less was given than asked because of a daily cap.
    pub capped: bool,
}

/// Why a command was refused. Stable codes, sent to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    #[error("this operation does not fit the card's program")]
    WrongProgramKind,
    #[error("the amount must be positive")]
    InvalidAmount,
    #[error("more stamps than a visit may earn")]
    TooManyStamps,
    #[error("the purchase is below the program's minimum")]
    BelowMinimumPurchase,
    #[error("this card was stamped at this store too recently")]
    TooSoon,
    #[error("the card has reached its daily limit")]
    DailyCapReached,
    #[error("the balance is too low")]
    InsufficientBalance,
    #[error("the reward is not available")]
    RewardUnavailable,
    #[error("the reward is out of stock")]
    OutOfStock,
    #[error("this transaction cannot be cancelled")]
    NotCancellable,
    #[error("the cancellation window has passed")]
    CancelWindowPassed,
    #[error("cancelling would make the balance negative")]
    WouldGoNegative,
    #[error("the program is not active")]
    ProgramInactive,
    #[error("the balance would exceed the largest a card may hold")]
    BalanceLimit,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::WrongProgramKind => "wrong_program_kind",
            Refusal::InvalidAmount => "invalid_amount",
            Refusal::TooManyStamps => "too_many_stamps",
            Refusal::BelowMinimumPurchase => "below_minimum_purchase",
            Refusal::TooSoon => "too_soon",
            Refusal::DailyCapReached => "daily_cap_reached",
            Refusal::InsufficientBalance => "insufficient_balance",
            Refusal::RewardUnavailable => "reward_unavailable",
            Refusal::OutOfStock => "out_of_stock",
            Refusal::NotCancellable => "not_cancellable",
            Refusal::CancelWindowPassed => "cancel_window_passed",
            Refusal::WouldGoNegative => "would_go_negative",
            Refusal::ProgramInactive => "program_inactive",
            Refusal::BalanceLimit => "balance_limit",
        }
    }
}

/// The transaction a cancellation refers to, as the ledger has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    pub id: Uuid,
    pub kind: TxKind,
    /// The reward a redemption gave.
    pub reward_id: Option<Uuid>,
    pub delta: i64,
    pub created_at: DateTime<Utc>,
    pub already_cancelled: bool,
}

/// Where and when a POS operation happens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AtStore {
    pub place: Place,
    pub tz: Tz,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    IssueStamps { store: AtStore, count: u32, purchase_minor: Option<i64> },
    EarnPoints { store: AtStore, amount_minor: i64 },
    Redeem { reward: Reward, at: DateTime<Utc> },
    Cancel { original: Original, window: Duration, at: DateTime<Utc> },
    Adjust { delta: i64, at: DateTime<Utc> },
    Expire { at: DateTime<Utc> },
}

/// The most a card may hold, and the most one visit or adjustment may
/// earn: 10^15, below 2^53, so every client (JavaScript's numbers too) shows
/// a balance exactly, and far from `i64::MAX`, so no sum of them wraps.
pub const MAX_BALANCE: i64 = 1_000_000_000_000_000;

/// The largest purchase amount, in minor units, a request may carry (10^12:
/// ten billion in a currency of cents). Checked where requests come in.
pub const MAX_AMOUNT_MINOR: i64 = 1_000_000_000_000;

/// The largest change one manual adjustment may make, either way.
pub const MAX_ADJUSTMENT: i64 = 1_000_000_000;

impl CardState {
    pub fn new(id: CardId, program_id: Uuid) -> Self {
        Self { id, program_id, balance: 0, book: CardBook::default(), version: 0, last_entry: None }
    }

    /// Add an earning. Refused when the balance (or what the day counts)
    /// would pass [`MAX_BALANCE`]: checked here, so no caller's amount wraps.
    fn add_lot(&mut self, amount: i64, at: DateTime<Utc>, expiry_days: Option<u32>) -> Result<(), Refusal> {
        if amount <= 0 {
            return Ok(());
        }
        let balance = self.balance.checked_add(amount).filter(|b| *b <= MAX_BALANCE).ok_or(Refusal::BalanceLimit)?;
        // Earnings expire at the end of their (UTC) day, so one day's earnings
        // share a lot: the book stays as small as the number of earning days.
        let expires_at = expiry_days.map(|d| {
            let day = (at + Duration::days(i64::from(d))).date_naive();
            day.succ_opt().unwrap_or(day).and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
        });
        match self.book.lots.last_mut() {
            Some(last) if last.expires_at == expires_at && last.earned_at <= at => last.remaining += amount,
            _ => {
                self.book.lots.push(Lot { earned_at: at, expires_at, remaining: amount });
                self.book.lots.sort_by_key(|l| l.earned_at);
            }
        }
        self.balance = balance;
        Ok(())
    }

    /// Take `amount` from the lots still valid at `at`, oldest first (or newest
    /// first, to take back an earning). The caller checked `balance_at(at)`.
    fn spend(&mut self, mut amount: i64, at: DateTime<Utc>, newest_first: bool) {
        self.balance -= amount;
        let valid = |l: &Lot| l.expires_at.is_none_or(|e| e > at);
        let mut take_from = |lot: &mut Lot| {
            if valid(lot) && amount > 0 {
                let take = lot.remaining.min(amount);
                lot.remaining -= take;
                amount -= take;
            }
        };
        if newest_first {
            self.book.lots.iter_mut().rev().for_each(&mut take_from);
        } else {
            self.book.lots.iter_mut().for_each(&mut take_from);
        }
        self.book.lots.retain(|l| l.remaining > 0);
    }

    /// Remove what has expired by `at`; returns how much.
    fn drop_expired(&mut self, at: DateTime<Utc>) -> i64 {
        let expired: i64 =
            self.book.lots.iter().filter(|l| l.expires_at.is_some_and(|e| e <= at)).map(|l| l.remaining).sum();
        self.book.lots.retain(|l| l.expires_at.is_none_or(|e| e > at));
        self.balance -= expired;
        expired
    }

    fn count_earning(&mut self, tz: Tz, at: DateTime<Utc>, amount: i64) {
        let day = local_day(tz, at);
        if self.book.day != Some(day) {
            self.book.day = Some(day);
            self.book.earned_today = 0;
        }
        // Each earning is at most MAX_BALANCE; saturating keeps a day of them
        // from wrapping all the same.
        self.book.earned_today = self.book.earned_today.saturating_add(amount);
    }

    fn earned_today(&self, tz: Tz, at: DateTime<Utc>) -> i64 {
        if self.book.day == Some(local_day(tz, at)) { self.book.earned_today } else { 0 }
    }

    fn used(&mut self, campaigns: &[Uuid]) {
        for id in campaigns {
            let uses = self.book.campaign_uses.entry(*id).or_insert(0);
            *uses = uses.saturating_add(1);
        }
    }

    /// Run a command. `campaigns` are the program's campaigns (only those that
    /// apply at the store and time count). Returns the next state and the effect,
    /// or a refusal; `self` is never changed. The next state's `last_entry`
    /// is still this one's: the caller, who names the ledger entry, sets it.
    pub fn execute(
        &self,
        rules: &ProgramRules,
        campaigns: &[Campaign],
        command: &Command,
    ) -> Result<(CardState, Effect), Refusal> {
        let mut next = self.clone();
        let effect = |kind, delta, next: &CardState| Effect {
            kind,
            delta,
            balance_after: next.balance,
            campaigns: Vec::new(),
            reward_id: None,
            reverses: None,
            capped: false,
        };
        let result = match (command, rules) {
            (Command::IssueStamps { store, count, purchase_minor }, ProgramRules::Stamps(r)) => {
                if *count == 0 {
                    return Err(Refusal::InvalidAmount);
                }
                if *count > r.max_stamps_per_visit {
                    return Err(Refusal::TooManyStamps);
                }
                if let Some(min) = r.min_purchase_minor
                    && purchase_minor.unwrap_or(0) < min
                {
                    return Err(Refusal::BelowMinimumPurchase);
                }
                let store_id = store.place.store_id.unwrap_or_default();
                if r.min_interval_secs > 0
                    && let Some(last) = self.book.last_visit.get(&store_id)
                    && store.at - *last < Duration::seconds(i64::from(r.min_interval_secs))
                {
                    return Err(Refusal::TooSoon);
                }
                let applying: Vec<&Campaign> =
                    campaigns.iter().filter(|c| c.applies(&store.place, store.tz, store.at)).collect();
                let bonus =
                    campaign_effect(applying, |id| self.book.campaign_uses.get(&id).copied().unwrap_or(0), false);
                let requested = i64::from(*count) + i64::from(bonus.bonus_stamps);
                let cap = r.daily_cap.map(i64::from);
                let granted = within_cap(requested, self.earned_today(store.tz, store.at), cap);
                if granted == 0 {
                    return Err(Refusal::DailyCapReached);
                }
                next.add_lot(granted, store.at, r.expiry_days)?;
                next.count_earning(store.tz, store.at, granted);
                next.book.last_visit.insert(store_id, store.at);
                next.used(&bonus.applied);
                let mut e = effect(TxKind::StampIssuance, granted, &next);
                e.campaigns = bonus.applied;
                e.capped = granted < requested;
                e
            }
            (Command::EarnPoints { store, amount_minor }, ProgramRules::Points(r)) => {
                if *amount_minor <= 0 {
                    return Err(Refusal::InvalidAmount);
                }
                let applying: Vec<&Campaign> =
                    campaigns.iter().filter(|c| c.applies(&store.place, store.tz, store.at)).collect();
                let boost =
                    campaign_effect(applying, |id| self.book.campaign_uses.get(&id).copied().unwrap_or(0), true);
                let store_id = store.place.store_id.unwrap_or_default();
                let requested = r.points_for(store_id, *amount_minor, boost.multiplier_pct);
                let cap = r.daily_cap.map(|c| i64::try_from(c).unwrap_or(i64::MAX));
                let granted = within_cap(requested, self.earned_today(store.tz, store.at), cap);
                if granted == 0 {
                    return Err(if requested == 0 { Refusal::BelowMinimumPurchase } else { Refusal::DailyCapReached });
                }
                next.add_lot(granted, store.at, r.expiry_days)?;
                next.count_earning(store.tz, store.at, granted);
                next.used(&boost.applied);
                let mut e = effect(TxKind::PointsAddition, granted, &next);
                e.campaigns = boost.applied;
                e.capped = granted < requested;
                e
            }
            (Command::IssueStamps { .. }, _) | (Command::EarnPoints { .. }, _) => {
                return Err(Refusal::WrongProgramKind);
            }
            (Command::Redeem { reward, at }, _) => {
                if reward.program_id != self.program_id {
                    return Err(Refusal::RewardUnavailable);
                }
                if reward.stock.is_some_and(|s| s <= 0) {
                    return Err(Refusal::OutOfStock);
                }
                if !reward.available_at(*at) {
                    return Err(Refusal::RewardUnavailable);
                }
                if next.balance_at(*at) < reward.cost {
                    return Err(Refusal::InsufficientBalance);
                }
                next.spend(reward.cost, *at, false);
                let mut e = effect(TxKind::RewardRedemption, -reward.cost, &next);
                e.reward_id = Some(reward.id);
                e
            }
            (Command::Cancel { original, window, at }, rules) => {
                if original.already_cancelled || matches!(original.kind, TxKind::Cancellation | TxKind::Expiry) {
                    return Err(Refusal::NotCancellable);
                }
                if *at - original.created_at > *window {
                    return Err(Refusal::CancelWindowPassed);
                }
                let delta = original.delta.checked_neg().ok_or(Refusal::NotCancellable)?;
                if delta < 0 {
                    if next.balance_at(*at) < -delta {
                        return Err(Refusal::WouldGoNegative);
                    }
                    // Undo an earning: take it back from the newest lots.
                    next.spend(-delta, *at, true);
                } else {
                    // Undo a spending: give it back as a new lot.
                    next.add_lot(delta, *at, rules.expiry_days())?;
                }
                let mut e = effect(TxKind::Cancellation, delta, &next);
                e.reverses = Some(original.id);
                e
            }
            (Command::Adjust { delta, at }, rules) => {
                if *delta == 0 {
                    return Err(Refusal::InvalidAmount);
                }
                // `unsigned_abs`, not `abs`: `i64::MIN` has no positive twin.
                if delta.unsigned_abs() > MAX_BALANCE.unsigned_abs() {
                    return Err(Refusal::BalanceLimit);
                }
                if *delta < 0 {
                    if next.balance_at(*at) < -delta {
                        return Err(Refusal::WouldGoNegative);
                    }
                    next.spend(-delta, *at, false);
                } else {
                    next.add_lot(*delta, *at, rules.expiry_days())?;
                }
                effect(TxKind::Adjustment, *delta, &next)
            }
            (Command::Expire { at }, _) => {
                let expired = next.drop_expired(*at);
                if expired == 0 {
                    return Err(Refusal::InvalidAmount);
                }
                effect(TxKind::Expiry, -expired, &next)
            }
        };
        next.version += 1;
        debug_assert_eq!(next.balance, next.book.lots.iter().map(|l| l.remaining).sum::<i64>());
        Ok((next, result))
    }

    /// The earliest expiry among the lots (for the expiry sweep).
    pub fn next_expiry(&self) -> Option<DateTime<Utc>> {
        self.book.lots.iter().filter_map(|l| l.expires_at).min()
    }

    /// The balance as of `at`, not counting what has expired by then.
    pub fn balance_at(&self, at: DateTime<Utc>) -> i64 {
        self.book.lots.iter().filter(|l| l.expires_at.is_none_or(|e| e > at)).map(|l| l.remaining).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::BusinessId;
    use crate::program::{Currency, PointsRules, Rounding, StampRules};
    use proptest::prelude::*;

    fn stamps() -> ProgramRules {
        ProgramRules::Stamps(StampRules {
            stamps_per_reward: 10,
            max_stamps_per_visit: 3,
            min_purchase_minor: None,
            currency: None,
            min_interval_secs: 0,
            daily_cap: None,
            expiry_days: None,
        })
    }

    fn points_rules() -> PointsRules {
        PointsRules {
            currency: Currency::parse("EUR").expect("EUR"),
            points_per_unit: 1,
            unit_minor: 100,
            rounding: Rounding::Down,
            store_overrides: BTreeMap::new(),
            daily_cap: None,
            expiry_days: None,
        }
    }

    fn points(expiry_days: Option<u32>, daily_cap: Option<u64>) -> ProgramRules {
        ProgramRules::Points(PointsRules { daily_cap, expiry_days, ..points_rules() })
    }

    fn t0() -> DateTime<Utc> {
        "2026-11-26T10:00:00Z".parse().expect("time")
    }

    fn at_store(at: DateTime<Utc>) -> AtStore {
        AtStore { place: Place::store(BusinessId::new(), None, StoreId(Uuid::nil())), tz: Tz::UTC, at }
    }

    fn reward(program: Uuid, cost: i64) -> Reward {
        Reward {
            id: Uuid::now_v7(),
            program_id: program,
            name: "Coffee".into(),
            description: None,
            image_url: None,
            cost,
            stock: None,
            active_from: None,
            active_until: None,
            is_active: true,
            version: 1,
        }
    }

    #[test]
    fn stamps_then_redeem() {
        let card = CardState::new(CardId::new(), Uuid::now_v7());
        let rules = stamps();
        let issue = Command::IssueStamps { store: at_store(t0()), count: 3, purchase_minor: None };
        let (card, e) = card.execute(&rules, &[], &issue).expect("stamps");
        assert_eq!((e.kind, e.delta, card.balance, card.version), (TxKind::StampIssuance, 3, 3, 1));
        let too_many = Command::IssueStamps { store: at_store(t0()), count: 4, purchase_minor: None };
        assert_eq!(card.execute(&rules, &[], &too_many), Err(Refusal::TooManyStamps));
        let r = reward(card.program_id, 5);
        assert_eq!(
            card.execute(&rules, &[], &Command::Redeem { reward: r.clone(), at: t0() }),
            Err(Refusal::InsufficientBalance)
        );
        let (card, _) = card.execute(&rules, &[], &issue).expect("stamps");
        let (card, e) = card.execute(&rules, &[], &Command::Redeem { reward: r, at: t0() }).expect("redeem");
        assert_eq!((e.delta, card.balance), (-5, 1));
    }

    #[test]
    fn oldest_points_are_spent_first_and_expire_in_order() {
        let rules = points(Some(30), None);
        let card = CardState::new(CardId::new(), Uuid::now_v7());
        let earn = |at| Command::EarnPoints { store: at_store(at), amount_minor: 1_000 };
        let (card, _) = card.execute(&rules, &[], &earn(t0())).expect("earn");
        let (card, _) = card.execute(&rules, &[], &earn(t0() + Duration::days(10))).expect("earn");
        // Spend 15 of 20: the first lot (10) is used up, 5 of the second remain.
        let r = reward(card.program_id, 15);
        let (card, _) =
            card.execute(&rules, &[], &Command::Redeem { reward: r, at: t0() + Duration::days(11) }).expect("r");
        assert_eq!(card.book.lots.len(), 1);
        assert_eq!(card.book.lots[0].remaining, 5);
        assert_eq!(card.book.lots[0].earned_at, t0() + Duration::days(10));
        // Day 31: nothing expires (the spent lot was the one due). Day 41: the rest does.
        assert_eq!(
            card.execute(&rules, &[], &Command::Expire { at: t0() + Duration::days(31) }),
            Err(Refusal::InvalidAmount)
        );
        let (card, e) = card.execute(&rules, &[], &Command::Expire { at: t0() + Duration::days(41) }).expect("expire");
        assert_eq!((e.kind, e.delta, card.balance), (TxKind::Expiry, -5, 0));
    }

    #[test]
    fn daily_caps_and_intervals() {
        let rules = ProgramRules::Stamps(StampRules {
            stamps_per_reward: 10,
            max_stamps_per_visit: 5,
            min_purchase_minor: Some(500),
            currency: Some(Currency::parse("EUR").expect("EUR")),
            min_interval_secs: 3600,
            daily_cap: Some(6),
            expiry_days: None,
        });
        let card = CardState::new(CardId::new(), Uuid::now_v7());
        let visit = |at, count, purchase| Command::IssueStamps { store: at_store(at), count, purchase_minor: purchase };
        assert_eq!(card.execute(&rules, &[], &visit(t0(), 1, Some(499))), Err(Refusal::BelowMinimumPurchase));
        let (card, _) = card.execute(&rules, &[], &visit(t0(), 4, Some(500))).expect("visit");
        assert_eq!(
            card.execute(&rules, &[], &visit(t0() + Duration::minutes(30), 1, Some(900))),
            Err(Refusal::TooSoon)
        );
        let (card, e) = card.execute(&rules, &[], &visit(t0() + Duration::hours(2), 4, Some(900))).expect("capped");
        assert_eq!((e.delta, e.capped, card.balance), (2, true, 6));
        assert_eq!(
            card.execute(&rules, &[], &visit(t0() + Duration::hours(4), 1, Some(900))),
            Err(Refusal::DailyCapReached)
        );
        let (card, _) = card.execute(&rules, &[], &visit(t0() + Duration::days(1), 1, Some(900))).expect("next day");
        assert_eq!(card.balance, 7);
    }

    #[test]
    fn cancellations_reverse_once_within_the_window() {
        let rules = points(None, None);
        let card = CardState::new(CardId::new(), Uuid::now_v7());
        let (card, e) = card
            .execute(&rules, &[], &Command::EarnPoints { store: at_store(t0()), amount_minor: 2_000 })
            .expect("earn");
        let original = Original {
            id: Uuid::now_v7(),
            kind: e.kind,
            reward_id: None,
            delta: e.delta,
            created_at: t0(),
            already_cancelled: false,
        };
        let window = Duration::minutes(30);
        let late = Command::Cancel { original: original.clone(), window, at: t0() + Duration::hours(1) };
        assert_eq!(card.execute(&rules, &[], &late), Err(Refusal::CancelWindowPassed));
        let cancel = Command::Cancel { original: original.clone(), window, at: t0() + Duration::minutes(5) };
        let (after, e) = card.execute(&rules, &[], &cancel).expect("cancel");
        assert_eq!((e.delta, after.balance, e.reverses), (-20, 0, Some(original.id)));
        let twice = Command::Cancel { original: Original { already_cancelled: true, ..original }, window, at: t0() };
        assert_eq!(after.execute(&rules, &[], &twice), Err(Refusal::NotCancellable));
        // Points already spent cannot be taken back below zero.
        let r = reward(card.program_id, 15);
        let (spent, _) = card.execute(&rules, &[], &Command::Redeem { reward: r, at: t0() }).expect("redeem");
        let cancel = Command::Cancel {
            original: Original {
                id: Uuid::now_v7(),
                kind: TxKind::PointsAddition,
                reward_id: None,
                delta: 20,
                created_at: t0(),
                already_cancelled: false,
            },
            window,
            at: t0(),
        };
        assert_eq!(spent.execute(&rules, &[], &cancel), Err(Refusal::WouldGoNegative));
    }

    #[test]
    fn wrong_kind_and_foreign_rewards_are_refused() {
        let card = CardState::new(CardId::new(), Uuid::now_v7());
        let earn = Command::EarnPoints { store: at_store(t0()), amount_minor: 100 };
        assert_eq!(card.execute(&stamps(), &[], &earn), Err(Refusal::WrongProgramKind));
        let foreign = reward(Uuid::now_v7(), 1);
        assert_eq!(
            card.execute(&stamps(), &[], &Command::Redeem { reward: foreign, at: t0() }),
            Err(Refusal::RewardUnavailable)
        );
        let mut none_left = reward(card.program_id, 1);
        none_left.stock = Some(0);
        assert_eq!(
            card.execute(&stamps(), &[], &Command::Redeem { reward: none_left, at: t0() }),
            Err(Refusal::OutOfStock)
        );
    }

    #[test]
    fn balances_stop_at_the_limit_instead_of_wrapping() {
        let rules = ProgramRules::Points(PointsRules { points_per_unit: 100_000, unit_minor: 1, ..points_rules() });
        let card = CardState::new(CardId::new(), Uuid::now_v7());
        let huge = Command::EarnPoints { store: at_store(t0()), amount_minor: i64::MAX };
        assert_eq!(card.execute(&rules, &[], &huge), Err(Refusal::BalanceLimit));
        let (card, _) =
            card.execute(&rules, &[], &Command::Adjust { delta: MAX_BALANCE, at: t0() }).expect("up to the limit");
        assert_eq!(card.balance, MAX_BALANCE);
        let one = Command::EarnPoints { store: at_store(t0()), amount_minor: 1 };
        assert_eq!(card.execute(&rules, &[], &one), Err(Refusal::BalanceLimit));
        assert_eq!(card.execute(&rules, &[], &Command::Adjust { delta: 1, at: t0() }), Err(Refusal::BalanceLimit));
        for delta in [i64::MIN, i64::MAX, MAX_BALANCE + 1, -MAX_BALANCE - 1] {
            assert_eq!(card.execute(&rules, &[], &Command::Adjust { delta, at: t0() }), Err(Refusal::BalanceLimit));
        }
        let (card, _) = card.execute(&rules, &[], &Command::Adjust { delta: -MAX_BALANCE, at: t0() }).expect("down");
        assert_eq!(card.balance, 0);
        let odd = Original {
            id: Uuid::now_v7(),
            kind: TxKind::Adjustment,
            reward_id: None,
            delta: i64::MIN,
            created_at: t0(),
            already_cancelled: false,
        };
        let cancel = Command::Cancel { original: odd, window: Duration::days(1), at: t0() };
        assert_eq!(card.execute(&rules, &[], &cancel), Err(Refusal::NotCancellable));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Earn(i64),
        Redeem(i64),
        Adjust(i64),
        CancelLast,
        Expire,
        Wait(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (1i64..5_000).prop_map(Op::Earn),
            (1i64..60).prop_map(Op::Redeem),
            (-40i64..40).prop_map(Op::Adjust),
            Just(Op::CancelLast),
            Just(Op::Expire),
            (0i64..20).prop_map(Op::Wait),
        ]
    }

    proptest! {
        /// Random issue / earn / redeem / cancel / adjust / expire sequences: the
        /// balance always equals the sum of the applied deltas (the ledger), equals
        /// the sum of the lots, and is never negative; refusals change nothing.
        #[test]
        fn balance_is_the_ledger_sum_and_never_negative(ops in proptest::collection::vec(op(), 1..80), cap in proptest::option::of(10u64..200)) {
            let rules = points(Some(7), cap);
            let mut card = CardState::new(CardId::new(), Uuid::now_v7());
            let mut ledger: Vec<(Uuid, Effect, DateTime<Utc>)> = Vec::new();
            let mut cancelled = std::collections::HashSet::new();
            let mut now = t0();
            for op in ops {
                let cmd = match op {
                    Op::Earn(a) => Command::EarnPoints { store: at_store(now), amount_minor: a },
                    Op::Redeem(c) => Command::Redeem { reward: reward(card.program_id, c), at: now },
                    Op::Adjust(d) => Command::Adjust { delta: d, at: now },
                    Op::Expire => Command::Expire { at: now },
                    Op::Wait(days) => { now += Duration::days(days); continue; }
                    Op::CancelLast => match ledger.last() {
                        Some((id, e, at)) => Command::Cancel {
                            original: Original { id: *id, kind: e.kind, reward_id: None, delta: e.delta, created_at: *at, already_cancelled: cancelled.contains(id) },
                            window: Duration::days(3650),
                            at: now,
                        },
                        None => continue,
                    },
                };
                let before = card.clone();
                match card.execute(&rules, &[], &cmd) {
                    Ok((next, effect)) => {
                        if let Some(r) = effect.reverses { cancelled.insert(r); }
                        prop_assert_eq!(next.version, before.version + 1);
                        ledger.push((Uuid::now_v7(), effect, now));
                        card = next;
                    }
                    Err(_) => prop_assert_eq!(&card, &before),
                }
                let ledger_sum: i64 = ledger.iter().map(|(_, e, _)| e.delta).sum();
                prop_assert_eq!(card.balance, ledger_sum);
                prop_assert!(card.balance >= 0);
                prop_assert_eq!(card.balance, card.book.lots.iter().map(|l| l.remaining).sum::<i64>());
                prop_assert!(card.book.lots.windows(2).all(|w| w[0].earned_at <= w[1].earned_at), "lots stay oldest first");
                if let Some(cap) = cap {
                    prop_assert!(card.book.earned_today <= cap as i64 + 40, "earning respects the cap (adjustments aside)");
                }
            }
        }
    }
}
