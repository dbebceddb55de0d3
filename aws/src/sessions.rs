//! The session table: refresh-token families and one-time tokens (email
//! verification, password reset), with TTL on `ExpiresAt`.
//!
//! Items are keyed by `TokenHash`: `rt#<hex sha-256>` for refresh tokens,
//! `ott#<purpose>#<hex sha-256>` for one-time tokens. GSI1 (`FamilyId`,
//! `IssuedAt`) finds a family, GSI2 (`SubjectId`, `IssuedAt`) an account's
//! sessions. Rotation and consumption are conditional updates, so of two
//! concurrent uses exactly one wins, as with the SQL adapter. A revoked family
//! also gets an item of its own, `fam#<id>` with `RevokedAt`: a new token is
//! stored, and a token rotated, only together with a check that this item is
//! not there (one transaction). So a replay that revoked the family before the
//! winner stored its successor keeps the successor out, and a successor stored
//! just before, which the revocation's query on GSI1 (eventually consistent)
//! may miss, can't be used. "Sign out everywhere" finds an account's sessions
//! on GSI2, eventually consistent too; so it first writes the account's own
//! item, `sub#<id>` with `ValidAfter`, and a token is rotated only together
//! with a check that it was issued after that time. TTL only tidies
//! up: every read checks `ExpiresAt` itself (moto, and DynamoDB for up to two
//! days, keep expired items).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, ReturnValue, TransactWriteItem, Update};
use chrono::{DateTime, SecondsFormat, Utc};
use stampede_domain::identity::{
    NewOneTimeToken, NewRefreshToken, OneTimeToken, RefreshOutcome, SubjectKind, TokenPurpose,
};
use stampede_domain::ports::{SessionRepo, StoreError, StoreResult};
use uuid::Uuid;

use crate::sdk_error;

pub struct DynamoSessions {
    client: Client,
    table: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn refresh_key(hash: &[u8]) -> String {
    format!("rt#{}", hex(hash))
}

fn family_key(family_id: Uuid) -> String {
    format!("fam#{family_id}")
}

fn subject_key(subject_id: Uuid) -> String {
    format!("sub#{subject_id}")
}

/// How long a revoked family's item is kept: longer than any refresh token lives.
const FAMILY_ITEM_DAYS: i64 = 400;

fn one_time_key(purpose: TokenPurpose, hash: &[u8]) -> String {
    format!("ott#{}#{}", purpose.as_str(), hex(hash))
}

fn s(v: impl ToString) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn get_s<'a>(item: &'a HashMap<String, AttributeValue>, k: &str) -> Option<&'a str> {
    item.get(k).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn get_uuid(item: &HashMap<String, AttributeValue>, k: &str) -> StoreResult<Uuid> {
    get_s(item, k)
        .and_then(|v| Uuid::parse_str(v).ok())
        .ok_or_else(|| StoreError::Other(format!("session item: bad {k}")))
}

fn is_condition_failure<E>(err: &crate::SdkError<E>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

impl DynamoSessions {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    pub fn from_conf(conf: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(conf), table)
    }

    async fn get(&self, key: &str) -> StoreResult<Option<HashMap<String, AttributeValue>>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("TokenHash", s(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("dynamodb get session", e))?;
        Ok(out.item)
    }

    /// Keys of every item on an index (a family or an account).
    async fn keys_on(&self, index: &str, attribute: &str, value: Uuid) -> StoreResult<Vec<String>> {
        let items = self.items_on(index, attribute, value).await?;
        Ok(items.iter().filter_map(|i| get_s(i, "TokenHash").map(str::to_owned)).collect())
    }

    /// Every item on an index (the indexes project all attributes).
    async fn items_on(
        &self,
        index: &str,
        attribute: &str,
        value: Uuid,
    ) -> StoreResult<Vec<HashMap<String, AttributeValue>>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression("#a = :v")
                .expression_attribute_names("#a", attribute)
                .expression_attribute_values(":v", s(value))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("dynamodb query sessions", e))?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// The check, inside a transaction, that the family's own item does not
    /// say it was revoked (module docs).
    fn family_unrevoked(&self, family_id: Uuid) -> StoreResult<ConditionCheck> {
        ConditionCheck::builder()
            .table_name(&self.table)
            .key("TokenHash", s(family_key(family_id)))
            .condition_expression("attribute_not_exists(RevokedAt)")
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))
    }

    /// The account's own item: no token issued before its `ValidAfter` is
    /// rotated. A token with no `IssuedAt` counts as issued before any.
    fn issued_after_sign_out(&self, item: &HashMap<String, AttributeValue>) -> StoreResult<ConditionCheck> {
        let subject = get_uuid(item, "SubjectId")?;
        let issued = get_s(item, "IssuedAt").unwrap_or("0");
        ConditionCheck::builder()
            .table_name(&self.table)
            .key("TokenHash", s(subject_key(subject)))
            .condition_expression("attribute_not_exists(ValidAfter) OR ValidAfter < :issued")
            .expression_attribute_values(":issued", s(issued))
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))
    }

    /// Every token of the account issued until `now` is done (module docs).
    async fn mark_signed_out(&self, subject_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("TokenHash", s(subject_key(subject_id)))
            .update_expression("SET ValidAfter = :now, ExpiresAt = :expires")
            .expression_attribute_values(":now", s(time(now)))
            .expression_attribute_values(":expires", n((now + chrono::Duration::days(FAMILY_ITEM_DAYS)).timestamp()))
            .send()
            .await
            .map_err(|e| sdk_error("dynamodb sign out everywhere", e))?;
        Ok(())
    }

    /// The family's own item, which keeps new tokens out (module docs).
    async fn mark_family_revoked(&self, family_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("TokenHash", s(family_key(family_id)))
            .update_expression("SET RevokedAt = if_not_exists(RevokedAt, :now), ExpiresAt = :expires")
            .expression_attribute_values(":now", s(time(now)))
            .expression_attribute_values(":expires", n((now + chrono::Duration::days(FAMILY_ITEM_DAYS)).timestamp()))
            .send()
            .await
            .map_err(|e| sdk_error("dynamodb revoke session family", e))?;
        Ok(())
    }

    /// Mark tokens revoked (those already revoked keep their first time).
    async fn revoke_keys(&self, keys: Vec<String>, now: DateTime<Utc>) -> StoreResult<()> {
        for key in keys {
            let res = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("TokenHash", s(&key))
                .update_expression("SET RevokedAt = :now")
                .condition_expression("attribute_exists(TokenHash) AND attribute_not_exists(RevokedAt)")
                .expression_attribute_values(":now", s(time(now)))
                .send()
                .await;
            match res {
                Ok(_) => {}
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(sdk_error("dynamodb revoke session", e)),
            }
        }
        Ok(())
    }
}

/// Transactions a rotation tries before it gives up on conflicts.
const ROTATE_ATTEMPTS: u32 = 3;

/// What a cancelled rotation calls for, from its cancellation reasons (the
/// family's condition check first, then the token's update).
#[derive(Debug, PartialEq, Eq)]
enum Cancelled {
    /// A condition failed; `family_revoked` when the family's did.
    Refused { family_revoked: bool },
    /// Another transaction was on one of the items: try again.
    Retry,
    /// Anything else, or a conflict on the last attempt: an error.
    GiveUp,
}

/// A failed condition decides, whatever else DynamoDB reports; a conflict is
/// tried again until the `attempt`th (from 1) is the last.
fn after_cancellation(codes: [Option<&str>; 3], attempt: u32) -> Cancelled {
    let failed = |i: usize| codes[i] == Some("ConditionalCheckFailed");
    if failed(0) || failed(1) || failed(2) {
        // Signed out everywhere counts as revoked: the token is refused, not
        // taken for a replay.
        return Cancelled::Refused { family_revoked: failed(0) || failed(2) };
    }
    if codes.contains(&Some("TransactionConflict")) && attempt < ROTATE_ATTEMPTS {
        Cancelled::Retry
    } else {
        Cancelled::GiveUp
    }
}

#[async_trait]
impl SessionRepo for DynamoSessions {
    async fn insert_refresh_token(&self, t: NewRefreshToken) -> StoreResult<()> {
        let unrevoked = self.family_unrevoked(t.family_id)?;
        let put = Put::builder()
            .table_name(&self.table)
            .item("TokenHash", s(refresh_key(&t.token_hash)))
            .item("FamilyId", s(t.family_id))
            .item("SubjectId", s(t.subject_id))
            .item("SubjectKind", s(t.subject_kind.as_str()))
            .item("IssuedAt", s(time(Utc::now())))
            .item("ExpiresAt", n(t.expires_at.timestamp()))
            .condition_expression("attribute_not_exists(TokenHash)")
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let res = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().condition_check(unrevoked).build())
            .transact_items(TransactWriteItem::builder().put(put).build())
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    let failed = |i: usize| {
                        c.cancellation_reasons().get(i).and_then(|r| r.code()) == Some("ConditionalCheckFailed")
                    };
                    if failed(0) {
                        Err(StoreError::Conflict("refresh token family revoked"))
                    } else if failed(1) {
                        Err(StoreError::Conflict("refresh token"))
                    } else {
                        Err(sdk_error("dynamodb put session", e))
                    }
                }
                _ => Err(sdk_error("dynamodb put session", e)),
            },
        }
    }

    async fn rotate_refresh_token(&self, token_hash: &[u8], now: DateTime<Utc>) -> StoreResult<RefreshOutcome> {
        let key = refresh_key(token_hash);
        // The token's family never changes, so it is read first; the
        // transaction's conditions then decide, atomically, between concurrent
        // uses (the update) and against a revocation whose index query missed
        // this token (the family's item).
        let Some(item) = self.get(&key).await? else { return Ok(RefreshOutcome::Invalid) };
        let family_id = get_uuid(&item, "FamilyId")?;
        let unrevoked = self.family_unrevoked(family_id)?;
        let current = self.issued_after_sign_out(&item)?;
        let rotate = Update::builder()
            .table_name(&self.table)
            .key("TokenHash", s(&key))
            .update_expression("SET RotatedAt = :now")
            .condition_expression(
                "attribute_exists(TokenHash) AND attribute_not_exists(RotatedAt) \
                 AND attribute_not_exists(RevokedAt) AND ExpiresAt > :epoch",
            )
            .expression_attribute_values(":now", s(time(now)))
            .expression_attribute_values(":epoch", n(now.timestamp()))
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        // DynamoDB cancels a transaction that meets another one on the same
        // item (`TransactionConflict`): then it is tried again, and a use
        // that lost finds the token rotated below.
        let mut attempts = 0;
        let family_revoked = loop {
            attempts += 1;
            let res = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().condition_check(unrevoked.clone()).build())
                .transact_items(TransactWriteItem::builder().update(rotate.clone()).build())
                .transact_items(TransactWriteItem::builder().condition_check(current.clone()).build())
                .send()
                .await;
            let e = match res {
                Ok(_) => {
                    let kind = get_s(&item, "SubjectKind").and_then(SubjectKind::parse);
                    return Ok(RefreshOutcome::Rotated {
                        family_id,
                        subject_kind: kind.ok_or_else(|| StoreError::Other("session item: bad SubjectKind".into()))?,
                        subject_id: get_uuid(&item, "SubjectId")?,
                    });
                }
                Err(e) => e,
            };
            let Some(TransactWriteItemsError::TransactionCanceledException(c)) = e.as_service_error() else {
                return Err(sdk_error("dynamodb rotate session", e));
            };
            let code = |i: usize| c.cancellation_reasons().get(i).and_then(|r| r.code());
            match after_cancellation([code(0), code(1), code(2)], attempts) {
                Cancelled::Refused { family_revoked } => break family_revoked,
                Cancelled::Retry => {}
                Cancelled::GiveUp => return Err(sdk_error("dynamodb rotate session", e)),
            }
        };
        // A use that lost to another is reuse, whatever else failed (DynamoDB
        // need not report every failed condition of a cancelled transaction).
        let Some(current) = self.get(&key).await? else { return Ok(RefreshOutcome::Invalid) };
        if current.contains_key("RotatedAt") {
            self.revoke_family(family_id, now).await?;
            let kind = get_s(&current, "SubjectKind").and_then(SubjectKind::parse);
            return Ok(RefreshOutcome::Reused {
                subject_kind: kind.ok_or_else(|| StoreError::Other("session item: bad SubjectKind".into()))?,
                subject_id: get_uuid(&current, "SubjectId")?,
            });
        }
        if family_revoked {
            // This token escaped the revocation's index query: it is refused,
            // and revoked too, for tidiness.
            self.revoke_keys(vec![key], now).await?;
        }
        Ok(RefreshOutcome::Invalid)
    }

    async fn revoke_family(&self, family_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        self.mark_family_revoked(family_id, now).await?;
        let keys = self.keys_on("GSI1", "FamilyId", family_id).await?;
        self.revoke_keys(keys, now).await
    }

    async fn revoke_by_token(&self, token_hash: &[u8], now: DateTime<Utc>) -> StoreResult<bool> {
        match self.get(&refresh_key(token_hash)).await? {
            Some(item) => self.revoke_family(get_uuid(&item, "FamilyId")?, now).await.map(|()| true),
            None => Ok(false),
        }
    }

    async fn revoke_all_sessions(&self, subject_id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
        self.mark_signed_out(subject_id, now).await?;
        let items = self.items_on("GSI2", "SubjectId", subject_id).await?;
        // One-time tokens of the account are on the same index; only sessions go.
        let sessions: Vec<_> =
            items.iter().filter(|i| get_s(i, "TokenHash").is_some_and(|k| k.starts_with("rt#"))).collect();
        let families: std::collections::BTreeSet<Uuid> =
            sessions.iter().filter_map(|i| get_uuid(i, "FamilyId").ok()).collect();
        for family in families {
            self.mark_family_revoked(family, now).await?;
        }
        let keys = sessions.iter().filter_map(|i| get_s(i, "TokenHash").map(str::to_owned)).collect();
        self.revoke_keys(keys, now).await
    }

    async fn insert_one_time_token(&self, t: NewOneTimeToken) -> StoreResult<()> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("TokenHash", s(one_time_key(t.purpose, &t.token_hash)))
            .item("Purpose", s(t.purpose.as_str()))
            .item("Payload", s(t.payload.to_string()))
            .item("IssuedAt", s(time(Utc::now())))
            .item("ExpiresAt", n(t.expires_at.timestamp()))
            .condition_expression("attribute_not_exists(TokenHash)");
        if let Some(subject) = t.subject_id {
            req = req.item("SubjectId", s(subject));
        }
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Err(StoreError::Conflict("one-time token")),
            Err(e) => Err(sdk_error("dynamodb put one-time token", e)),
        }
    }

    async fn consume_one_time_token(
        &self,
        purpose: TokenPurpose,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<OneTimeToken>> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("TokenHash", s(one_time_key(purpose, token_hash)))
            .update_expression("SET UsedAt = :now")
            .condition_expression("attribute_exists(TokenHash) AND attribute_not_exists(UsedAt) AND ExpiresAt > :epoch")
            .expression_attribute_values(":now", s(time(now)))
            .expression_attribute_values(":epoch", n(now.timestamp()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match res {
            Ok(out) => {
                let item = out.attributes.unwrap_or_default();
                let payload = get_s(&item, "Payload")
                    .and_then(|p| serde_json::from_str(p).ok())
                    .ok_or_else(|| StoreError::Other("one-time token item: bad Payload".into()))?;
                let subject_id = match get_s(&item, "SubjectId") {
                    Some(_) => Some(get_uuid(&item, "SubjectId")?),
                    None => None,
                };
                Ok(Some(OneTimeToken { subject_id, payload }))
            }
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(sdk_error("dynamodb consume one-time token", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Cancelled, ROTATE_ATTEMPTS, after_cancellation};

    const FAILED: Option<&str> = Some("ConditionalCheckFailed");
    const CONFLICT: Option<&str> = Some("TransactionConflict");
    const NONE: Option<&str> = Some("None");

    #[test]
    fn a_failed_condition_decides_and_says_whose_it_was() {
        assert_eq!(after_cancellation([FAILED, NONE, None], 1), Cancelled::Refused { family_revoked: true });
        assert_eq!(after_cancellation([NONE, FAILED, None], 1), Cancelled::Refused { family_revoked: false });
        assert_eq!(after_cancellation([FAILED, FAILED, None], 1), Cancelled::Refused { family_revoked: true });
        // Signed out everywhere since the token was issued.
        assert_eq!(after_cancellation([NONE, NONE, FAILED], 1), Cancelled::Refused { family_revoked: true });
        // Beside a conflict, and on the last attempt, a failed condition still decides.
        assert_eq!(
            after_cancellation([CONFLICT, FAILED, None], ROTATE_ATTEMPTS),
            Cancelled::Refused { family_revoked: false }
        );
    }

    #[test]
    fn a_conflict_is_tried_again_until_the_last_attempt() {
        for attempt in 1..ROTATE_ATTEMPTS {
            assert_eq!(after_cancellation([CONFLICT, NONE, None], attempt), Cancelled::Retry);
            assert_eq!(after_cancellation([NONE, CONFLICT, None], attempt), Cancelled::Retry);
        }
        assert_eq!(after_cancellation([NONE, CONFLICT, None], ROTATE_ATTEMPTS), Cancelled::GiveUp);
    }

    #[test]
    fn any_other_reason_is_an_error() {
        assert_eq!(after_cancellation([NONE, NONE, None], 1), Cancelled::GiveUp);
        assert_eq!(after_cancellation([None, None, None], 1), Cancelled::GiveUp);
        assert_eq!(after_cancellation([NONE, Some("ValidationError"), None], 1), Cancelled::GiveUp);
    }
}
