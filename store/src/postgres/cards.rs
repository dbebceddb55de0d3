use async_trait::async_trait;
use chrono::Utc;
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use stampede_domain::card::{Card, CardBook};
use stampede_domain::ids::{BusinessId, CardId, CustomerId};
use stampede_domain::ports::{CardRepo, StoreError, StoreResult};
use uuid::Uuid;

use super::PgStore;
use crate::error;

/// The balance is `stamps` or `points`, whichever the program counts; the other
/// column stays 0, so their sum is the balance.
pub(super) const CARD: &str =
    "SELECT c.id, c.program_id, c.customer_id, c.business_id, c.code, c.stamps + c.points AS balance,
    c.state, c.version, c.last_entry_id, c.created_at FROM loyalty.cards c";

pub(super) fn card_from_row(row: &PgRow) -> Result<Card, sqlx::Error> {
    Ok(Card {
        id: CardId(row.try_get("id")?),
        program_id: row.try_get("program_id")?,
        customer_id: CustomerId(row.try_get("customer_id")?),
        business_id: BusinessId(row.try_get("business_id")?),
        code: row.try_get("code")?,
        balance: row.try_get("balance")?,
        book: row.try_get::<Json<CardBook>, _>("state")?.0,
        version: row.try_get("version")?,
        last_entry: row.try_get("last_entry_id")?,
        created_at: row.try_get("created_at")?,
    })
}

#[async_trait]
impl CardRepo for PgStore {
    async fn join_program(
        &self,
        program_id: Uuid,
        business_id: BusinessId,
        customer_id: CustomerId,
        code: &str,
    ) -> StoreResult<(Card, bool)> {
        let now = Utc::now();
        let inserted = sqlx::query(
            "INSERT INTO loyalty.cards (id, program_id, customer_id, business_id, code, state, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
             ON CONFLICT (program_id, customer_id) DO NOTHING",
        )
        .bind(CardId::new().0)
        .bind(program_id)
        .bind(customer_id.0)
        .bind(business_id.0)
        .bind(code)
        .bind(Json(CardBook::default()))
        .bind(now)
        .execute(self.pool())
        .await
        .map_err(|e| error::map(e, "card code"))?
        .rows_affected()
            == 1;
        let sql = format!("{CARD} WHERE c.program_id = $1 AND c.customer_id = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(program_id)
            .bind(customer_id.0)
            .fetch_optional(self.pool())
            .await
            .map_err(error::other)?
            .ok_or_else(|| StoreError::Other("card vanished".into()))?;
        Ok((card_from_row(&row).map_err(error::other)?, inserted))
    }

    async fn get_card(&self, id: CardId) -> StoreResult<Option<Card>> {
        let sql = format!("{CARD} WHERE c.id = $1");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.0).fetch_optional(self.pool()).await.map_err(error::other)?;
        row.as_ref().map(card_from_row).transpose().map_err(error::other)
    }

    async fn find_card_by_code(&self, code: &str) -> StoreResult<Option<Card>> {
        let sql = format!("{CARD} WHERE c.code = $1");
        let row =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(code).fetch_optional(self.pool()).await.map_err(error::other)?;
        row.as_ref().map(card_from_row).transpose().map_err(error::other)
    }

    async fn get_cards(&self, ids: &[CardId]) -> StoreResult<Vec<Card>> {
        let ids: Vec<Uuid> = ids.iter().map(|c| c.0).collect();
        let sql = format!("{CARD} WHERE c.id = ANY($1)");
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ids).fetch_all(self.pool()).await.map_err(error::other)?;
        rows.iter().map(card_from_row).collect::<Result<_, _>>().map_err(error::other)
    }

    async fn find_cards_by_code(&self, codes: &[String]) -> StoreResult<Vec<Card>> {
        let sql = format!("{CARD} WHERE c.code = ANY($1)");
        let rows =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(codes).fetch_all(self.pool()).await.map_err(error::other)?;
        rows.iter().map(card_from_row).collect::<Result<_, _>>().map_err(error::other)
    }

    async fn list_customer_cards(&self, customer_id: CustomerId) -> StoreResult<Vec<Card>> {
        let sql = format!("{CARD} WHERE c.customer_id = $1 ORDER BY c.id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(customer_id.0)
            .fetch_all(self.pool())
            .await
            .map_err(error::other)?;
        rows.iter().map(card_from_row).collect::<Result<_, _>>().map_err(error::other)
    }
}
